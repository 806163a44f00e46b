/**
 * `coconut preflight` against moto_server (CloudWatch, ECR, ECS, EKS, SSM, Secrets Manager: moto
 * answers each of these read calls, EKS DescribeCluster included) and the recording Slack server:
 * the account holds one existing thing of each kind, the config names it and a misspelt one, and
 * the findings name exactly the misspelt ones, each at its line in the file.
 *
 * Where Copilot keeps its state is Copilot's own rule: an application is the SSM parameter
 * /copilot/applications/<app>, an environment /copilot/applications/<app>/environments/<env>
 * (aws/copilot-cli internal/pkg/config/store.go, fmtApplicationPath and fmtEnvParamPath).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateClusterCommand, CreateServiceCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateClusterCommand as CreateEksClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsPreflightReader } from '../../../src/aws/preflight-reader.ts';
import { SlackChannelReader } from '../../../src/aws/slack/channels.ts';
import { parseConfigWithPositions } from '../../../src/core/config/load.ts';
import { formatFinding, preflight } from '../../../src/core/config/preflight.ts';
import { type Moto, startMoto } from '../../support/moto.ts';
import { type RecordingSlack, startSlackServer } from '../../support/slack-server.ts';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '../../..');
const TOKEN = 'xoxb-preflight-test';

// Each misspelt name carries a trailing comment "# wrong" so the test finds its line itself.
const CONFIG = `version: 1
slack:
  channel: "#deploys"
services:
  - name: api
    image:
      registry: ecr
      repository: demo-api
    target:
      kind: ecs
      cluster: demo-{environment}
      service: api
    environments:
      - name: staging
        alarms:
          - api-staging-5xx
      - name: prod
        approval:
          approvers: [U0123ABCD]
          channel: "#aprovals" # wrong
        alarms:
          - api-prod-5xx
          - api-prod-latnecy # wrong
  - name: web
    image:
      registry: ecr
      repository: demo-wbe # wrong
    target:
      kind: ecs
      cluster: demo-prod
      service: web-fronted # wrong
    environments:
      - name: prod
  - name: worker
    image:
      registry: ecr
      repository: demo-api
    target:
      kind: ecs
      cluster: demo-prdo # wrong
      service: api
    environments:
      - name: prod
  - name: shop
    image:
      registry: ghcr
      repository: octo/shop
      pullSecret: ghcr-pull
    source:
      github: octo/shop
      onTag: build
      pushSecret: ghcr-psuh # wrong
    target:
      kind: helm
      cluster: main-{environment} # wrong
    environments:
      - name: staging
      - name: prod
  - name: site
    image:
      registry: dockerhub
      repository: octo/site
      pullSecret: hub-empty # wrong
    target:
      kind: copilot
      app: demo
    environments:
      - name: test
      - name: prdo # wrong
  - name: blog
    image:
      registry: dockerhub
      repository: octo/blog
    target:
      kind: copilot
      app: dmeo # wrong
    environments:
      - name: test
`;

/** file:line:col of each "# wrong" line's value, found in the text (not by the code under test). */
function wrongPlaces(file: string): string[] {
  return CONFIG.split('\n').flatMap((line, i) => {
    if (!line.endsWith('# wrong')) return [];
    const value = line.replace(/\s*# wrong$/, '');
    // The value is the last word of the line; YAML positions a quoted value at its quote.
    const column = value.lastIndexOf(' ') + 1;
    return [`${file}:${i + 1}:${column + 1}`];
  });
}

let moto: Moto;
let slack: RecordingSlack;
beforeAll(async () => {
  [moto, slack] = await Promise.all([
    startMoto(),
    startSlackServer({ token: TOKEN, channels: { '#deploys': 'C0DEPLOYS', '#approvals': 'C0APPROVALS' } }),
  ]);
  const o = moto.clientOptions;
  const cw = new CloudWatchClient(o);
  for (const AlarmName of ['api-staging-5xx', 'api-prod-5xx', 'api-prod-latency']) {
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName,
        Namespace: 'Demo',
        MetricName: 'Errors',
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }),
    );
  }
  const ecr = new ECRClient(o);
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'demo-api' }));
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'demo-web' }));
  const ecs = new ECSClient(o);
  const td = (
    await ecs.send(
      new RegisterTaskDefinitionCommand({ family: 'api', containerDefinitions: [{ name: 'api', image: 'api:1', memory: 128 }] }),
    )
  ).taskDefinition?.taskDefinitionArn as string;
  for (const cluster of ['demo-staging', 'demo-prod']) {
    await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
    await ecs.send(new CreateServiceCommand({ cluster, serviceName: 'api', taskDefinition: td, desiredCount: 1 }));
  }
  await ecs.send(
    new CreateServiceCommand({ cluster: 'demo-prod', serviceName: 'web-frontend', taskDefinition: td, desiredCount: 1 }),
  );
  await new EKSClient(o).send(
    new CreateEksClusterCommand({ name: 'main-staging', roleArn: 'arn:aws:iam::123456789012:role/eks', resourcesVpcConfig: {} }),
  );
  const ssm = new SSMClient(o);
  // The parameters `copilot app init demo` and `copilot env init --name test|prod` write.
  await ssm.send(
    new PutParameterCommand({ Name: '/copilot/applications/demo', Type: 'String', Value: '{"name":"demo","version":"1.0"}' }),
  );
  for (const env of ['test', 'prod']) {
    await ssm.send(
      new PutParameterCommand({
        Name: `/copilot/applications/demo/environments/${env}`,
        Type: 'String',
        Value: `{"app":"demo","name":"${env}"}`,
      }),
    );
  }
  const sm = new SecretsManagerClient(o);
  await sm.send(new CreateSecretCommand({ Name: 'ghcr-pull', SecretString: '{"username":"octo","password":"p"}' }));
  await sm.send(new CreateSecretCommand({ Name: 'ghcr-push', SecretString: '{"username":"octo","password":"p"}' }));
  // Created without a value: it exists, yet a pull with it would fail.
  await sm.send(new CreateSecretCommand({ Name: 'hub-empty' }));
});
afterAll(async () => {
  await Promise.all([moto?.stop(), slack?.stop()]);
});

describe('preflight against moto_server and the recording Slack server', () => {
  it('names exactly the misspelt things, each at its config line, with the closest existing name', async () => {
    const located = parseConfigWithPositions(CONFIG, 'coconut.yaml');
    const report = await preflight(located.config, new AwsPreflightReader(moto.clientOptions), {
      region: 'us-east-1',
      positionOf: located.positionOf,
      builds: [{ kind: 'helm', compute: 'LAMBDA' }],
      slack: new SlackChannelReader({ token: TOKEN, apiUrl: slack.apiUrl }),
    });
    const lines = report.findings.map((f) => formatFinding('coconut.yaml', f));
    // main-{environment}: main-staging exists, main-prod does not (one finding, for prod).
    expect(report.findings.map((f) => `coconut.yaml:${f.line}:${f.column}`)).toEqual(wrongPlaces('coconut.yaml'));
    expect(lines).toEqual([
      'coconut.yaml:20:20 services[0].environments[1].approval.channel: Slack channel #aprovals does not exist or the bot cannot see it (did you mean "#approvals"?)',
      'coconut.yaml:23:13 services[0].environments[1].alarms[1]: CloudWatch alarm "api-prod-latnecy" does not exist in us-east-1 (did you mean "api-prod-latency"?)',
      'coconut.yaml:27:19 services[1].image.repository: ECR repository "demo-wbe" does not exist in us-east-1 (did you mean "demo-web"?)',
      'coconut.yaml:31:16 services[1].target.service: ECS service "web-fronted" does not exist in cluster "demo-prod" in us-east-1 (did you mean "web-frontend"?)',
      'coconut.yaml:40:16 services[2].target.cluster: ECS cluster "demo-prdo" does not exist (or is not ACTIVE) in us-east-1 (did you mean "demo-prod"?)',
      'coconut.yaml:52:19 services[3].source.pushSecret: Secrets Manager secret "ghcr-psuh" does not exist in us-east-1',
      'coconut.yaml:55:16 services[3].target.cluster: EKS cluster "main-prod" (environment prod) does not exist in us-east-1',
      'coconut.yaml:63:19 services[4].image.pullSecret: Secrets Manager secret "hub-empty" in us-east-1 has no value: set its JSON {"username","password"} with `aws secretsmanager put-secret-value`',
      'coconut.yaml:69:15 services[4].environments[1].name: Copilot environment "prdo" does not exist in application "demo" in us-east-1 (create it with `copilot env init --app demo --name prdo`) (did you mean "prod"?)',
      'coconut.yaml:76:12 services[5].target.app: Copilot application "dmeo" does not exist in us-east-1 (Copilot keeps it as the SSM parameter /copilot/applications/dmeo; create it with `copilot app init dmeo`) (did you mean "demo"?)',
    ]);
    expect(report.notes).toEqual([]);
  });

  it('runs as a user runs it: `coconut preflight --config F`, exit 1 and one line per finding', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'coconut-preflight-'));
    try {
      const file = path.join(dir, 'coconut.yaml');
      await writeFile(file, CONFIG);
      const run = await cli(['preflight', '--config', file], {
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: 'us-east-1',
        SLACK_BOT_TOKEN: TOKEN,
        SLACK_API_URL: slack.apiUrl,
      });
      expect(run.code).toBe(1);
      const findings = run.stdout.split('\n').filter((l) => l.startsWith(file));
      expect(findings.map((l) => l.split(' ')[0])).toEqual(wrongPlaces(file));
      expect(findings[1]).toBe(
        `${file}:23:13 services[0].environments[1].alarms[1]: CloudWatch alarm "api-prod-latnecy" does not exist in us-east-1 (did you mean "api-prod-latency"?)`,
      );
      expect(run.stdout).toMatch(/^10 finding\(s\) in \d+ check\(s\) of .* \(us-east-1\)$/m);
      expect(run.stderr).toContain('note: SST secrets');

      // Fixed: nothing to report, exit 0.
      const fixed = CONFIG.replace('"#aprovals" # wrong', '"#approvals"')
        .replace('api-prod-latnecy # wrong', 'api-prod-latency')
        .replace('demo-wbe # wrong', 'demo-web')
        .replace('web-fronted # wrong', 'web-frontend')
        .replace('demo-prdo # wrong', 'demo-prod')
        .replace('ghcr-psuh # wrong', 'ghcr-push')
        .replace('main-{environment} # wrong', 'main-staging')
        .replace('hub-empty # wrong', 'ghcr-pull')
        .replace('prdo # wrong', 'prod')
        .replace('dmeo # wrong', 'demo');
      await writeFile(file, fixed);
      const ok = await cli(['preflight', '--config', file, '--json'], {
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: 'us-east-1',
      });
      expect(ok.stderr).toBe('');
      expect(ok.stdout).toContain('"findings": []');
      expect(ok.code).toBe(0);
      const json = JSON.parse(ok.stdout) as { findings: unknown[]; notes: string[]; region: string };
      expect(json.findings).toEqual([]);
      expect(json.region).toBe('us-east-1');
      // No bot token: the channels are named as not checked.
      expect(json.notes.join('\n')).toContain('Slack channels not checked (#approvals, #deploys)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // SST keeps a stage's passphrase in /sst/passphrase/<app>/<stage> (sst/sst
  // pkg/project/provider/aws.go, pathForPassphrase); `sst secret set` creates it on first use.
  it("--stage: looks for SST's state of the stage by its passphrase parameter, without reading it", async () => {
    const { config } = parseConfigWithPositions(
      'services:\n  - name: x\n    image: {registry: ghcr, repository: o/x}\n    target: {kind: ecs, cluster: demo-prod, service: api}\n    environments: [{name: prod}]\n',
    );
    const reader = new AwsPreflightReader(moto.clientOptions);
    const before = await preflight(config, reader, { region: 'us-east-1', stage: 'qa', builds: [] });
    expect(before.findings).toEqual([]);
    expect(before.notes.join('\n')).toContain('SST has no state for coconut/qa in us-east-1');
    await new SSMClient(moto.clientOptions).send(
      new PutParameterCommand({ Name: '/sst/passphrase/coconut/qa', Type: 'SecureString', Value: 'not-read-by-preflight' }),
    );
    const after = await preflight(config, reader, { region: 'us-east-1', stage: 'qa', builds: [] });
    expect(after.notes).toEqual([]);
  });

  it('answers 2 with the usage for a bad flag', async () => {
    const run = await cli(['preflight', '--region', 'mars'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--region must be an AWS Region');
    expect(run.stderr).toContain('usage: coconut preflight');
  });
});

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/coconut.mjs'), ...args], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
