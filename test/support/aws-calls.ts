/**
 * Records the AWS calls an SDK v3 client sends, and names what IAM authorizes each one on:
 * the action ("<service prefix>:<Operation>") and the resource ARNs of the request, as the
 * Service Authorization Reference defines them for these operations
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html:
 * list_amazondynamodb, list_awsstepfunctions, list_amazoncloudwatch, list_amazonelasticcontainerregistry,
 * list_amazonelasticcontainerservice, list_awscodebuild, list_awssecretsmanager). "*" stands for "no resource-level permission".
 */
export interface AwsCall {
  action: string;
  region: string;
  input: Record<string, unknown>;
}

export interface Needed {
  action: string;
  resource: string;
}

/** IAM service prefix by the JSON protocol's X-Amz-Target prefix. */
const PREFIX: Record<string, string> = {
  DynamoDB_20120810: 'dynamodb',
  AWSStepFunctions: 'states',
  GraniteServiceVersion20100801: 'cloudwatch',
  AmazonEC2ContainerRegistry_V20150921: 'ecr',
  AmazonEC2ContainerServiceV20141113: 'ecs',
  CodeBuild_20161006: 'codebuild',
  secretsmanager: 'secretsmanager',
};

interface MiddlewareClient {
  middlewareStack: { add(mw: unknown, opts: { step: string; name: string; priority?: string }): void };
  config: { region: () => Promise<string> };
}

/** Adds a recorder to a client (or a DynamoDBDocumentClient): every request it sends lands in `calls`. */
export function recordCalls<C>(client: C, calls: AwsCall[]): C {
  const c = client as unknown as MiddlewareClient;
  c.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>) =>
      async (args: { request: { headers: Record<string, string>; body?: unknown } }) => {
        const target = args.request.headers['x-amz-target'] ?? '';
        const [prefix = '', operation = ''] = target.split('.');
        const service = PREFIX[prefix];
        if (!service) throw new Error(`aws-calls: unknown X-Amz-Target ${target}`);
        const raw = args.request.body;
        const body = typeof raw === 'string' ? raw : raw instanceof Uint8Array ? new TextDecoder().decode(raw) : '{}';
        calls.push({ action: `${service}:${operation}`, region: await c.config.region(), input: JSON.parse(body || '{}') });
        return next(args);
      },
    { step: 'finalizeRequest', name: 'coconutIamRecorder' },
  );
  // moto answers a refused call with 403 and an XML <Code>AccessDenied</Code> body, even to JSON
  // protocols, which the SDK can only report as a deserialization error without the body: name it
  // here, before the deserializer reads the body, so that a 403 for another reason stays distinct.
  c.middlewareStack.add(
    (next: (args: unknown) => Promise<{ response: { statusCode?: number; body?: unknown } }>) => async (args: unknown) => {
      const out = await next(args);
      if (out.response.statusCode !== 403) return out;
      const chunks: Uint8Array[] = [];
      for await (const chunk of out.response.body as AsyncIterable<Uint8Array>) chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('utf8');
      const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
      if (code === 'AccessDenied') {
        const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '';
        throw Object.assign(new Error(`AccessDenied: ${message}`), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      }
      out.response.body = Buffer.from(text);
      return out;
    },
    { step: 'deserialize', name: 'coconutAccessDenied', priority: 'low' },
  );
  return client;
}

/** What IAM checks for one call, made by `account`. */
export function needed(call: AwsCall, account: string): Needed[] {
  const { action, region, input } = call;
  const arn = (service: string, rest: string) => `arn:aws:${service}:${region}:${account}:${rest}`;
  const one = (resource: string) => [{ action, resource }];
  const s = (key: string) => String(input[key] ?? '');
  switch (action) {
    case 'dynamodb:GetItem':
    case 'dynamodb:PutItem':
    case 'dynamodb:UpdateItem':
    case 'dynamodb:DeleteItem':
    case 'dynamodb:Query':
      return one(arn('dynamodb', `table/${s('TableName')}${input.IndexName ? `/index/${s('IndexName')}` : ''}`));
    case 'states:StartExecution':
    case 'states:ListExecutions':
      return one(s('stateMachineArn'));
    case 'states:DescribeExecution':
    case 'states:GetExecutionHistory':
      return one(s('executionArn'));
    case 'states:SendTaskSuccess':
    case 'states:SendTaskFailure':
    case 'states:SendTaskHeartbeat':
      return one('*');
    case 'cloudwatch:DescribeAlarms':
      return ((input.AlarmNames as string[] | undefined) ?? ['*']).map((name) => ({
        action,
        resource: name === '*' ? '*' : arn('cloudwatch', `alarm:${name}`),
      }));
    case 'ecr:DescribeImages':
    case 'ecr:DescribeImageScanFindings':
    case 'ecr:StartImageScan':
    case 'ecr:BatchGetImage':
      return one(arn('ecr', `repository/${s('repositoryName')}`));
    case 'ecs:DescribeServices':
      return ((input.services as string[]) ?? []).map((name) => ({
        action,
        resource: arn('ecs', `service/${clusterName(s('cluster'))}/${name.split('/').pop()}`),
      }));
    case 'ecs:UpdateService':
      return one(arn('ecs', `service/${clusterName(s('cluster'))}/${s('service').split('/').pop()}`));
    // Service Authorization Reference (Amazon ECS): both require the service* and the service-deployment*
    // resource types; a service deployment ARN is arn:...:service-deployment/CLUSTER/SERVICE/ID.
    case 'ecs:DescribeServiceDeployments':
      return ((input.serviceDeploymentArns as string[]) ?? []).flatMap((resource) => serviceDeploymentNeeds(action, resource));
    case 'ecs:ContinueServiceDeployment':
      return serviceDeploymentNeeds(action, s('serviceDeploymentArn'));
    case 'ecs:RegisterTaskDefinition': {
      const needs: Needed[] = [{ action, resource: '*' }];
      // Tags on create are authorized as ecs:TagResource on the new revision (ECS Developer Guide,
      // "Grant permission to tag resources on creation"); roles handed to tasks need iam:PassRole.
      if (Array.isArray(input.tags) && input.tags.length > 0)
        needs.push({ action: 'ecs:TagResource', resource: arn('ecs', `task-definition/${s('family')}:*`) });
      for (const role of [input.taskRoleArn, input.executionRoleArn]) {
        if (typeof role === 'string' && role) needs.push({ action: 'iam:PassRole', resource: role });
      }
      return needs;
    }
    case 'ecs:DescribeTaskDefinition':
    case 'ecs:ListTaskDefinitions':
    // Service Authorization Reference (Amazon ECR): GetAuthorizationToken has no resource type.
    case 'ecr:GetAuthorizationToken':
      return one('*');
    case 'codebuild:BatchGetBuilds':
      return ((input.ids as string[]) ?? []).map((id) => ({ action, resource: arn('codebuild', `project/${id.split(':')[0]}`) }));
    case 'secretsmanager:GetSecretValue': {
      // By name, the secret's ARN is the name, "-" and six random characters Secrets Manager chose.
      const id = s('SecretId');
      return one(id.startsWith('arn:') ? id : arn('secretsmanager', `secret:${id}-Rnd6Ch`));
    }
    default:
      throw new Error(`aws-calls: no resource rule for ${action}; add it from the Service Authorization Reference`);
  }
}

function clusterName(cluster: string): string {
  return (cluster || 'default').split('/').pop() as string;
}

/** A service deployment is authorized on itself and on its service (the ARN names both). */
function serviceDeploymentNeeds(action: string, deployment: string): Needed[] {
  const service = deployment.replace(/:service-deployment\/([^/]+)\/([^/]+)\/[^/]+$/, ':service/$1/$2');
  return [
    { action, resource: deployment },
    { action, resource: service },
  ];
}
