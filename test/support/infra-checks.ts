/**
 * The contract between infra/ (as recorded by the SST stand-in) and the code: each check
 * returns the problems it found, so the contract test can also prove that a mutated recording
 * (a handler path, a substitution or a permission taken away) is caught.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { HTTP_ROUTES } from '../../functions/http-routes.ts';
import { FUNCTIONS, SECRET_NAMES } from '../../infra/function-manifest.ts';
import { CAPABILITIES, RESOURCE_STAR_ACTIONS } from '../../infra/permissions.ts';
import { type AslDefinition, placeholdersIn, taskStates } from '../../src/core/asl.ts';
import type { CoconutConfig } from '../../src/core/config/schema.ts';
import { eventRules } from '../../src/core/triggers/event-rules.ts';
import { localSubstitutions } from '../../src/local/asl.ts';
import { calledMethods, commandActions, commandsByMethod, portMethods, ROOT, reachable, secretsRead } from './code-graph.ts';
import { allows } from './iam-policy.ts';
import { integrationNeeds } from './sfn-integration-iam.ts';
import { type Recording, resolveDeep } from './sst-recorder.ts';

export interface Statement {
  actions: string[];
  resources: string[];
}

export interface DeployedFunction {
  name: string;
  handler: string;
  args: Record<string, unknown>;
  permissions: Statement[];
  secrets: string[];
  arn: string;
}

export interface Contract {
  functions: DeployedFunction[];
  machines: { name: string; definition: string; policy: Statement[] }[];
  routes: { route: string; handler: string; auth: unknown }[];
  rules: { name: string; pattern: unknown; target: string }[];
  tableArn: string;
  policies: { owner: string; statements: Statement[] }[];
  /** Names of the CodeBuild projects. */
  projects: string[];
}

function statements(policy: unknown): Statement[] {
  const doc = (typeof policy === 'string' ? JSON.parse(policy) : policy) as {
    Statement: { Action: string | string[]; Resource: string | string[] }[];
  };
  return doc.Statement.map((s) => ({ actions: [s.Action].flat(), resources: [s.Resource].flat() }));
}

/** The recorded app as plain data. */
export function contractOf(recording: Recording): Contract {
  const fns = recording.of('sst.aws.Function').map((r) => {
    const args = resolveDeep(r.args) as Record<string, unknown>;
    return {
      name: r.name,
      handler: String(args.handler),
      args,
      permissions: ((args.permissions as Statement[] | undefined) ?? []).map((s) => ({
        actions: [...s.actions],
        resources: [...s.resources],
      })),
      secrets: ((r.args.link as unknown[] | undefined) ?? []).map((l) => recording.recordOf(l)?.name ?? '?'),
      arn: String(resolveDeep((r.proxy as { arn: unknown }).arn)),
    };
  });
  const policies = recording.of('aws.iam.RolePolicy').map((p) => {
    const args = resolveDeep(p.args) as { role: string; policy: unknown };
    return { owner: args.role, statements: statements(args.policy) };
  });
  const machines = recording.of('aws.sfn.StateMachine').map((m) => {
    const args = resolveDeep(m.args) as { name: string; definition: string; roleArn: string };
    const role = args.roleArn.split(':role/')[1];
    return { name: args.name, definition: args.definition, policy: policies.find((p) => p.owner === role)?.statements ?? [] };
  });
  const api = recording.of('sst.aws.ApiGatewayV2')[0];
  const routes = (api?.routes ?? []).map((r) => ({
    route: r.route,
    handler: String(resolveDeep(r.handler)),
    auth: resolveDeep(r.args.auth),
  }));
  const targets = recording.of('aws.cloudwatch.EventTarget').map((t) => resolveDeep(t.args) as { rule: string; arn: string });
  const rules = recording.of('aws.cloudwatch.EventRule').map((r) => {
    const args = resolveDeep(r.args) as { name: string; eventPattern: string };
    return {
      name: args.name,
      pattern: JSON.parse(args.eventPattern) as unknown,
      target: targets.find((t) => t.rule === args.name)?.arn ?? '',
    };
  });
  const table = recording.of('sst.aws.Dynamo')[0];
  return {
    functions: fns,
    machines,
    routes,
    rules,
    tableArn: String(resolveDeep((table?.proxy as { arn: unknown } | undefined)?.arn)),
    policies,
    projects: recording.of('aws.codebuild.Project').map((p) => String((resolveDeep(p.args) as { name: string }).name)),
  };
}

export function handlerFiles(): string[] {
  return readdirSync(path.join(ROOT, 'functions'))
    .filter((f) => f.endsWith('.ts') && f !== 'http-routes.ts')
    .map((f) => f.slice(0, -3))
    .sort();
}

/** Every handler in functions/ is deployed, and every deployed handler path exists and exports `handler`. */
export async function checkHandlers(c: Contract): Promise<string[]> {
  const problems: string[] = [];
  for (const name of handlerFiles()) {
    if (!c.functions.some((f) => f.handler === `functions/${name}.handler`))
      problems.push(`functions/${name}.ts is not deployed`);
  }
  for (const fn of c.functions) {
    const m = /^(.+)\.(\w+)$/.exec(fn.handler);
    const file = m ? `${m[1]}.ts` : '';
    if (!m || !existsSync(path.join(ROOT, file))) {
      problems.push(`${fn.name}: handler ${fn.handler} names no file`);
      continue;
    }
    const mod = (await import(path.join(ROOT, file))) as Record<string, unknown>;
    if (typeof mod[m[2] as string] !== 'function') problems.push(`${fn.name}: ${file} does not export ${m[2]}`);
    if (fn.args.runtime !== 'nodejs22.x' || fn.args.architecture !== 'arm64')
      problems.push(`${fn.name}: not nodejs22.x on arm64`);
    const env = fn.args.environment as Record<string, string>;
    const copies = fn.args.copyFiles as { to: string }[] | undefined;
    if (env?.COCONUT_CONFIG !== 'coconut.yaml' || !copies?.some((f) => f.to === 'coconut.yaml')) {
      problems.push(`${fn.name}: coconut.yaml is not bundled as COCONUT_CONFIG`);
    }
  }
  return problems;
}

/** Every ASL file is deployed with every placeholder substituted, calling deployed functions. */
export function checkStateMachines(c: Contract, prefix: string): string[] {
  const problems: string[] = [];
  const files = readdirSync(path.join(ROOT, 'stepfunctions')).filter((f) => f.endsWith('.asl.json'));
  for (const file of files) {
    const machine = file.slice(0, -'.asl.json'.length);
    const text = readFileSync(path.join(ROOT, 'stepfunctions', file), 'utf8');
    for (const name of placeholdersIn(text)) {
      if (!(name in localSubstitutions())) problems.push(`${file}: \${${name}} has no local value in src/local/asl.ts`);
    }
    const deployed = c.machines.find((m) => m.name === `${prefix}-${machine}`);
    if (!deployed) {
      problems.push(`${file} is not deployed`);
      continue;
    }
    const left = placeholdersIn(deployed.definition);
    if (left.length) problems.push(`${file}: placeholders left unsubstituted: ${left.join(', ')}`);
    let def: AslDefinition;
    try {
      def = JSON.parse(deployed.definition) as AslDefinition;
    } catch {
      problems.push(`${file}: deployed definition is not JSON`);
      continue;
    }
    if ((def.QueryLanguage ?? 'JSONPath') !== 'JSONPath') problems.push(`${file}: not JSONPath`);
    for (const [state, node] of taskStates(def)) {
      const fn = (node.Parameters as { FunctionName?: string } | undefined)?.FunctionName;
      if (String(node.Resource).includes(':lambda:') && !c.functions.some((f) => f.arn === fn)) {
        problems.push(`${file}: ${state} invokes ${fn}, which is not a deployed function`);
      }
    }
  }
  return problems;
}

function grants(stmts: Statement[], action: string, resource?: (r: string) => boolean): boolean {
  return stmts.some((s) => s.actions.includes(action) && (!resource || s.resources.some(resource)));
}

/**
 * The state machine roles allow what AWS documents each of their tasks' integrations to need
 * (test/support/sfn-integration-iam.ts, from the Step Functions developer guide), evaluated with
 * IAM's matching rules (test/support/iam-policy.ts).
 */
export function checkStateMachinePermissions(c: Contract): string[] {
  const problems: string[] = [];
  const [, , , region = '', account = ''] = c.tableArn.split(':');
  for (const m of c.machines) {
    let def: AslDefinition;
    try {
      def = JSON.parse(m.definition) as AslDefinition;
    } catch {
      continue;
    }
    const { needs, unknown } = integrationNeeds(def, { region, account, projects: c.projects });
    for (const u of unknown) problems.push(`${m.name}: ${u}, which this contract does not know`);
    for (const need of needs) {
      if (!allows(m.policy, need.action, need.resource))
        problems.push(`${m.name}: ${need.state} needs ${need.action} on ${need.resource}`);
    }
    if (!grants(m.policy, 'logs:CreateLogDelivery')) problems.push(`${m.name}: logging needs logs:CreateLogDelivery`);
  }
  return problems;
}

const PORT_CAPABILITY: Record<string, (method: string) => string | string[] | undefined> = {
  Store: () => 'store',
  Alarms: () => 'alarms',
  Scanner: () => 'scanner',
  // ECR's API, and the pull secret for the OCI distribution API (src/aws/image-registry.ts).
  ImageRegistry: () => ['registry', 'pullSecrets'],
  // ECR's token and registry API, and the pull secret for GHCR / Docker Hub (src/aws/ecr-signatures.ts).
  ImageSignatures: () => ['signatures', 'pullSecrets'],
  Orchestrator: (m) => (m === 'startExecution' ? 'startExecution' : m.startsWith('sendTask') ? 'taskCallback' : undefined),
};

/** The capabilities a handler's code needs: port methods it reaches, adapters it imports directly. */
export function neededCapabilities(handler: string): Set<string> {
  const files = reachable(`functions/${handler}.ts`);
  const ports = portMethods();
  const needed = new Set<string>();
  for (const [port, toCapability] of Object.entries(PORT_CAPABILITY)) {
    for (const method of calledMethods(
      files.filter((f) => !f.startsWith('src/aws/')),
      new Set(ports[port] ?? []),
    )) {
      for (const capability of [toCapability(method) ?? []].flat()) needed.add(capability);
    }
  }
  for (const [capability, spec] of Object.entries(CAPABILITIES))
    if (files.some((f) => isPartOf(f, spec.adapter))) needed.add(capability);
  return needed;
}

/** Each function is granted every action its code needs; the resources are the right ones. */
export function checkFunctionPermissions(c: Contract, config: CoconutConfig): string[] {
  const problems: string[] = [];
  const repositories = config.services.filter((s) => s.image.registry === 'ecr').map((s) => s.image.repository);
  for (const name of handlerFiles()) {
    const fn = c.functions.find((f) => f.handler === `functions/${name}.handler`);
    if (!fn) continue;
    for (const capability of neededCapabilities(name)) {
      const spec = CAPABILITIES[capability as keyof typeof CAPABILITIES];
      if ((capability === 'scanner' || capability === 'registry' || capability === 'signatures') && repositories.length === 0)
        continue;
      if (capability === 'pullSecrets' && !config.services.some((s) => s.image.pullSecret)) continue;
      for (const action of spec.actions) {
        if (!grants(fn.permissions, action)) problems.push(`${name}: its code needs ${action} (${capability}), not granted`);
      }
      if (capability === 'store' && !grants(fn.permissions, 'dynamodb:UpdateItem', (r) => r === c.tableArn))
        problems.push(`${name}: store actions are not granted on the table ${c.tableArn}`);
      if (
        capability === 'startExecution' &&
        !grants(fn.permissions, 'states:StartExecution', (r) => c.machines.some((m) => r.endsWith(`:stateMachine:${m.name}`)))
      )
        problems.push(`${name}: states:StartExecution is not granted on Coconut's state machines`);
    }
    if (FUNCTIONS[name]?.async) {
      const dlq = (fn.args.transform as { function?: { deadLetterConfig?: { targetArn?: string } } } | undefined)?.function
        ?.deadLetterConfig?.targetArn;
      if (!dlq?.startsWith('arn:aws:sqs:')) problems.push(`${name}: asynchronous, but has no dead-letter queue`);
      else if (!grants(fn.permissions, 'sqs:SendMessage', (r) => r === dlq))
        problems.push(`${name}: cannot send to its dead-letter queue`);
    }
  }
  return problems;
}

/** No `*` action anywhere; a `*` resource only for actions without resource-level permissions. */
export function checkNoWildcards(c: Contract): string[] {
  const problems: string[] = [];
  const all = [
    ...c.functions.map((f) => ({ owner: f.name, statements: f.permissions })),
    ...c.policies.map((p) => ({ owner: p.owner, statements: p.statements })),
  ];
  for (const { owner, statements: stmts } of all) {
    for (const s of stmts) {
      for (const action of s.actions) {
        if (action.includes('*')) problems.push(`${owner}: wildcard action ${action}`);
        if (s.resources.includes('*') && !RESOURCE_STAR_ACTIONS.has(action)) problems.push(`${owner}: ${action} on resource *`);
      }
      if (s.resources.length === 0) problems.push(`${owner}: ${s.actions.join(', ')} on no resource`);
    }
  }
  return problems;
}

/**
 * Adapters that only the `coconut` CLI runs, on the user's machine with the user's own AWS
 * credentials (their IAM is listed in docs/cli.md), so no capability grants them: proven by
 * checking that no deployed function reaches them.
 */
export const CLI_ONLY_ADAPTERS = new Set(['src/aws/preflight-reader.ts']);

/** The file is the adapter, or one of the files of an adapter that is a folder (ending in /). */
function isPartOf(file: string, adapter: string): boolean {
  return adapter.endsWith('/') ? file.startsWith(adapter) : file === adapter;
}

/** The capability table matches the SDK commands each adapter imports and each method sends. */
export function checkAdapterActions(): string[] {
  const problems: string[] = [];
  // Sub-folders too: an adapter may be split into files (the DynamoDB store: src/aws/dynamo/).
  const adapters = readdirSync(path.join(ROOT, 'src/aws'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `src/aws/${f.split(path.sep).join('/')}`)
    .sort();
  for (const file of adapters) {
    const commands = commandActions(file);
    if (commands.size === 0) continue;
    if (CLI_ONLY_ADAPTERS.has(file)) {
      for (const handler of Object.keys(FUNCTIONS)) {
        if (reachable(`functions/${handler}.ts`).includes(file))
          problems.push(`${file} is CLI-only, yet function ${handler} reaches it`);
      }
      continue;
    }
    const capabilities = Object.entries(CAPABILITIES).filter(([, spec]) => isPartOf(file, spec.adapter));
    if (capabilities.length === 0) {
      problems.push(`${file} sends ${[...commands.values()].join(', ')} but no capability in infra/permissions.ts covers it`);
      continue;
    }
    const granted = new Set(capabilities.flatMap(([, spec]) => spec.actions));
    for (const action of commands.values()) {
      if (!granted.has(action)) problems.push(`${file} sends ${action}, which no capability grants`);
    }
    const byMethod = commandsByMethod(file);
    for (const [capability, spec] of capabilities) {
      const methods = spec.methods === 'all' ? [...byMethod.keys()] : spec.methods;
      for (const method of methods) {
        if (!byMethod.has(method)) problems.push(`${capability}: ${file} has no method ${method}`);
        for (const command of byMethod.get(method) ?? []) {
          const action = commands.get(command);
          if (action && !spec.actions.includes(action))
            problems.push(`${capability}: ${file} ${method}() sends ${action}, not in its actions`);
        }
      }
    }
  }
  return problems;
}

/** Every secret a handler's code reads is linked to its function, and nothing else is. */
export function checkSecrets(c: Contract, reads: Record<string, Set<string>> = secretReads()): string[] {
  const problems: string[] = [];
  for (const [name, secrets] of Object.entries(reads)) {
    const fn = c.functions.find((f) => f.handler === `functions/${name}.handler`);
    for (const s of secrets) if (!fn?.secrets.includes(s)) problems.push(`${name}: reads secret ${s}, which is not linked to it`);
  }
  return problems;
}

export function secretReads(): Record<string, Set<string>> {
  return Object.fromEntries(
    handlerFiles().map((name) => [
      name,
      secretsRead(reachable(`functions/${name}.ts`, new Set(['src/aws/ports.ts', 'src/aws/secrets.ts'])), SECRET_NAMES),
    ]),
  );
}

/** Every HTTP route is on the API with its function; non-public routes need auth. */
export function checkRoutes(c: Contract): string[] {
  const problems: string[] = [];
  for (const route of HTTP_ROUTES) {
    const deployed = c.routes.find((r) => r.route === route.route);
    const fn = c.functions.find((f) => f.handler === `functions/${route.fn}.handler`);
    if (!deployed) problems.push(`route ${route.route} is not on the API`);
    else if (!fn || deployed.handler !== fn.arn) problems.push(`route ${route.route} does not reach functions/${route.fn}.ts`);
    else if (!route.public && !deployed.auth) problems.push(`route ${route.route} has no authorizer`);
    else if (route.public && deployed.auth) problems.push(`public route ${route.route} sits behind an authorizer`);
  }
  return problems;
}

/** The rules coconut.yaml implies, and the execution-ended safety net, deliver to their functions. */
export function checkTriggers(c: Contract, config: CoconutConfig): string[] {
  const problems: string[] = [];
  const arnOf = (fn: string) => c.functions.find((f) => f.handler === `functions/${fn}.handler`)?.arn;
  for (const rule of eventRules(config)) {
    const deployed = c.rules.find((r) => r.name.endsWith(`-${rule.name}`));
    if (!deployed) problems.push(`event rule ${rule.name} is not deployed`);
    else if (JSON.stringify(deployed.pattern) !== JSON.stringify(rule.pattern))
      problems.push(`event rule ${rule.name}: pattern differs`);
    else if (deployed.target !== arnOf(rule.target)) problems.push(`event rule ${rule.name} does not target ${rule.target}`);
  }
  const ended = c.rules.find((r) => r.name.endsWith('-execution-ended'));
  const deploy = c.machines.find((m) => m.name.endsWith('-deploy'));
  const detail = (ended?.pattern as { detail?: { status?: string[]; stateMachineArn?: string[] } } | undefined)?.detail;
  if (!ended || ended.target !== arnOf('execution-ended'))
    problems.push('no execution-ended rule targeting functions/execution-ended.ts');
  else if (!detail?.stateMachineArn?.some((a) => a.endsWith(`:stateMachine:${deploy?.name}`)))
    problems.push('execution-ended rule does not watch the deploy state machine');
  else if (JSON.stringify(detail.status) !== JSON.stringify(['FAILED', 'TIMED_OUT', 'ABORTED']))
    problems.push('execution-ended rule must match FAILED, TIMED_OUT and ABORTED');
  return problems;
}
