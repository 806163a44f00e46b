/**
 * AWS's documented limits, checked on the resource graph SST would deploy (evaluateSstApp in
 * sst-eval.ts). Each limit is copied from the AWS page cited next to it, not from our code.
 * Every check returns the problems it found, one readable line each; [] means the graph fits.
 */
import type { SstResource } from './sst-eval.ts';

/**
 * Lambda quotas, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 * ("Function configuration, deployment, and execution"): timeout up to 900 seconds (15 minutes);
 * memory 128 MB to 10,240 MB; environment variables 4 KB for all of a function's variables in aggregate.
 */
export const LAMBDA_LIMITS = { timeoutSeconds: 900, memoryMb: { min: 128, max: 10_240 }, environmentBytes: 4 * 1024 };

/**
 * EventBridge quotas, https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html:
 * "Event pattern size — 2,048 — Maximum size, in characters, of an event pattern" (adjustable on
 * request; a deploy must not depend on an increase).
 */
export const EVENT_PATTERN_MAX_CHARS = 2048;

/**
 * HTTP API access-log variables that carry the request path, whose segments may be secrets
 * (the Docker Hub webhook token): https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 * ("$context.path — The request path"), and the REST API ones
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html:
 * $context.resourcePath, $context.requestOverride.path.*). `$context.routeKey` is the route template
 * ("POST /webhooks/dockerhub/{token}") and carries no value.
 */
export const PATH_LOG_VARIABLES = ['$context.path', '$context.resourcePath', '$context.requestOverride.path'];

const LAMBDA = 'aws:lambda/function:Function';

export function lambdaLimitProblems(resources: SstResource[]): string[] {
  const problems: string[] = [];
  for (const fn of resources.filter((r) => r.type === LAMBDA)) {
    const { timeout, memorySize, environment } = fn.inputs as {
      timeout?: number;
      memorySize?: number;
      environment?: { variables?: Record<string, string> };
    };
    if (typeof timeout !== 'number' || timeout < 1 || timeout > LAMBDA_LIMITS.timeoutSeconds)
      problems.push(`${fn.name}: timeout ${timeout} s is outside 1..${LAMBDA_LIMITS.timeoutSeconds} s`);
    if (typeof memorySize !== 'number' || memorySize < LAMBDA_LIMITS.memoryMb.min || memorySize > LAMBDA_LIMITS.memoryMb.max)
      problems.push(
        `${fn.name}: memory ${memorySize} MB is outside ${LAMBDA_LIMITS.memoryMb.min}..${LAMBDA_LIMITS.memoryMb.max} MB`,
      );
    const variables = environment?.variables ?? {};
    const bytes = Object.entries(variables).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(String(v)), 0);
    if (bytes > LAMBDA_LIMITS.environmentBytes)
      problems.push(`${fn.name}: environment variables take ${bytes} bytes, more than ${LAMBDA_LIMITS.environmentBytes}`);
  }
  return problems;
}

/** Every EventBridge rule's pattern, as the provider sends it (a JSON string), within the size quota. */
export function eventPatternProblems(resources: SstResource[]): string[] {
  const problems: string[] = [];
  for (const rule of resources.filter((r) => r.type === 'aws:cloudwatch/eventRule:EventRule')) {
    const pattern = rule.inputs.eventPattern;
    if (typeof pattern !== 'string') continue; // a schedule rule
    if (pattern.length > EVENT_PATTERN_MAX_CHARS)
      problems.push(`${rule.name}: event pattern of ${pattern.length} characters, more than ${EVENT_PATTERN_MAX_CHARS}`);
  }
  return problems;
}

/** Access-log formats of API Gateway stages that would log the request path. */
export function accessLogProblems(resources: SstResource[]): string[] {
  const problems: string[] = [];
  for (const stage of resources.filter(
    (r) => r.type === 'aws:apigatewayv2/stage:Stage' || r.type === 'aws:apigateway/stage:Stage',
  )) {
    const format = (stage.inputs.accessLogSettings as { format?: string } | undefined)?.format ?? '';
    for (const variable of PATH_LOG_VARIABLES) {
      const used = new RegExp(`${variable.replaceAll('$', '\\$').replaceAll('.', '\\.')}(?![A-Za-z0-9])`);
      if (used.test(format)) problems.push(`${stage.name}: access log format logs ${variable}`);
    }
  }
  return problems;
}

/**
 * IAM and AWS STS quotas, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html:
 * the inline policies of a role may total 10,240 characters ("Role policy size"), white space not counted.
 */
export const ROLE_INLINE_POLICY_MAX_CHARS = 10_240;

/** Each role's inline policies (its own `inlinePolicies` and the RolePolicy resources on it), in aggregate. */
export function rolePolicySizeProblems(resources: SstResource[]): string[] {
  const size = (policy: unknown) =>
    (typeof policy === 'string' ? policy : JSON.stringify(policy ?? '')).replace(/\s/g, '').length;
  const problems: string[] = [];
  const rolePolicies = resources.filter((r) => r.type === 'aws:iam/rolePolicy:RolePolicy');
  for (const role of resources.filter((r) => r.type === 'aws:iam/role:Role')) {
    // The mocks name a role without an explicit name `<resource name>-mock` (sst-eval-run.ts, stateOf).
    const physical = typeof role.inputs.name === 'string' ? role.inputs.name : `${role.name}-mock`;
    const inline = (role.inputs.inlinePolicies as { policy?: unknown }[] | undefined) ?? [];
    const attached = rolePolicies.filter((p) => p.inputs.role === physical);
    const total = [...inline.map((p) => p.policy), ...attached.map((p) => p.inputs.policy)].reduce<number>(
      (n, p) => n + size(p),
      0,
    );
    if (total > ROLE_INLINE_POLICY_MAX_CHARS) {
      problems.push(
        `${role.name}: inline policies of ${total} characters (${[...attached.map((p) => p.name), ...(inline.length ? ['inlinePolicies'] : [])].join(', ')}), more than ${ROLE_INLINE_POLICY_MAX_CHARS}`,
      );
    }
  }
  return problems;
}
