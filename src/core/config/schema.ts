/**
 * The one schema of coconut.yaml. Everything else (the loader, the JSON Schema for
 * editors, `coconut validate`) derives from it, so it is the single place to change.
 * Objects are strict: a misspelled key is an error, not a silently ignored setting.
 */
import { z } from 'zod';
import { parseDuration } from '../duration.ts';
import { REPOSITORY_MAX_LENGTH, REPOSITORY_PATTERN } from '../oci.ts';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ALARM_NAME = /^[A-Za-z0-9._\-/#:()+= ]{1,255}$/;
const SLACK_USER = /^[UW][A-Z0-9]{1,20}$/;
const SLACK_APPROVER = /^[UWS][A-Z0-9]{1,20}$/;

/** A Slack channel id (C…/G…) or a channel name (#deploys). */
const slackChannel = z
  .string()
  .regex(/^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{1,20})$/, 'expected a Slack channel id (C…) or name like "#deploys"');

const name = (what: string) =>
  z.string().regex(NAME, `expected a ${what} name of lowercase letters, digits and "-" (at most 63 characters)`);

/** "30s", "5m", "1h" or a number of seconds; parsed to seconds. */
export const duration = (min = 0, max = 7 * 86400) =>
  z
    .union([z.string(), z.number()])
    .transform((value, ctx) => {
      const seconds = parseDuration(value);
      if (seconds === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration like "30s", "5m", "1h" or a number of seconds, got ${JSON.stringify(value)}`,
        });
        return z.NEVER;
      }
      if (seconds < min || seconds > max) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration between ${min}s and ${max}s, got ${seconds}s`,
        });
        return z.NEVER;
      }
      return seconds;
    })
    .meta({ description: 'A duration: "30s", "5m", "1h30m", "2d", or a number of seconds.' });

const regex = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a valid regular expression' },
);

export const imageSchema = z
  .strictObject({
    registry: z.enum(['ecr', 'ghcr', 'dockerhub'], {
      message: 'expected one of "ecr", "ghcr", "dockerhub"',
    }),
    repository: z
      .string()
      .max(REPOSITORY_MAX_LENGTH)
      .regex(REPOSITORY_PATTERN, 'expected a repository name like "demo-api" or "team/demo-api" (lowercase)'),
    tagPattern: regex
      .default('^v?\\d+\\.\\d+\\.\\d+(?:-[0-9A-Za-z.-]+)?$')
      .describe('Regular expression a pushed tag must match to be deployed. Default: semantic versions.'),
  })
  .describe('Where the service image comes from.');

const ansibleTarget = z.strictObject({
  kind: z.literal('ansible'),
  playbook: z.string().min(1).default('templates/ansible/deploy.yml'),
  rollbackPlaybook: z.string().min(1).default('templates/ansible/rollback.yml'),
  inventory: z.string().min(1).describe('Inventory path relative to the source root; groups are environment names.'),
});

const helmTarget = z.strictObject({
  kind: z.literal('helm'),
  release: name('Helm release').optional(),
  chart: z.string().min(1).default('templates/helm/coconut-service'),
  namespace: name('Kubernetes namespace').default('default'),
  cluster: z.string().min(1).optional().describe('EKS cluster name used to build the kubeconfig.'),
  timeout: duration(10, 3600).default(300),
});

const copilotTarget = z.strictObject({
  kind: z.literal('copilot'),
  app: name('Copilot application'),
  name: name('Copilot service').optional(),
});

export const targetSchema = z.discriminatedUnion('kind', [ansibleTarget, helmTarget, copilotTarget], {
  message: 'expected target.kind to be one of "ansible", "helm", "copilot"',
});

export const SEVERITIES = ['NONE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

export const environmentSchema = z.strictObject({
  name: name('environment'),
  approval: z
    .strictObject({
      approvers: z
        .array(z.string().regex(SLACK_APPROVER, 'expected a Slack user id (U…/W…) or user group id (S…), like U0123ABCD'))
        .min(1, 'expected at least one approver')
        .describe('Who may approve: Slack user ids (U…/W…) or user group ids (S…).'),
      timeout: duration(60, 7 * 86400)
        .default(3600)
        .describe('How long to wait for a decision; then the deployment ends REJECTED (expired).'),
      fourEyes: z
        .boolean()
        .default(false)
        .describe('When true, whoever triggered the deployment may not approve it (see slack.users).'),
      channel: slackChannel
        .optional()
        .describe('Slack channel for the approval message of this environment (default: slack.channel).'),
    })
    .optional()
    .describe('When present, a deployment waits here until an approver approves it.'),
  bake: duration(0, 24 * 3600)
    .default(300)
    .describe('How long to watch the alarms after deploying before the environment counts as good.'),
  alarms: z
    .array(z.string().regex(ALARM_NAME, 'expected a CloudWatch alarm name'))
    .default([])
    .describe('CloudWatch alarms watched during bake; any of them in ALARM rolls the deployment back.'),
  scan: z
    .strictObject({
      maxSeverity: z.enum(SEVERITIES).default('HIGH'),
      ignore: z.array(z.string().regex(/^[A-Z]+-\d{4}-\d+$|^GHSA-[\w-]+$/, 'expected an id like CVE-2024-1234')).default([]),
    })
    .optional()
    .describe('Image scan gate: findings above maxSeverity stop the deployment before it starts.'),
});

export const serviceSchema = z.strictObject({
  name: name('service'),
  image: imageSchema,
  target: targetSchema,
  environments: z
    .array(environmentSchema)
    .min(1, 'expected at least one environment')
    .describe('Environments in promotion order: a failure in one stops the later ones.'),
});

export const slackSchema = z
  .strictObject({
    channel: slackChannel.default('#deploys').describe('Channel of the deployment threads and, by default, of approvals.'),
    dashboardUrl: z
      .url({ message: 'expected the http(s) URL of the Coconut dashboard' })
      .optional()
      .describe('Base URL of the dashboard; messages link to <dashboardUrl>/#/deployments/<id>.'),
    users: z
      .record(z.string().min(1), z.string().regex(SLACK_USER, 'expected a Slack user id (U…/W…), like U0123ABCD'))
      .default({})
      .describe('Who is who: trigger actors (GitHub login, registry user) -> Slack user id, for fourEyes.'),
  })
  .describe('Slack: approval messages and one thread per deployment (needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET).');

const localAlarmSchema = z.strictObject({
  probe: z.url({ message: 'expected an http(s) URL to probe' }).optional(),
  period: duration(1, 3600).default(2),
  failuresToAlarm: z.number().int().min(1).max(100).default(2),
});

export const configSchema = z
  .strictObject({
    version: z.literal(1, { message: 'expected version: 1' }).default(1),
    services: z.array(serviceSchema).min(1, 'expected at least one service'),
    slack: slackSchema.optional(),
    local: z
      .strictObject({
        alarms: z.record(z.string(), localAlarmSchema).default({}),
      })
      .default({ alarms: {} })
      .describe('Settings for the local runtime only (`coconut dev`).'),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.services.forEach((service, i) => {
      const first = seen.get(service.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', i, 'name'],
          message: `duplicate service name "${service.name}" (first used at services[${first}])`,
        });
      } else seen.set(service.name, i);
      const envs = new Set<string>();
      service.environments.forEach((env, j) => {
        if (envs.has(env.name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['services', i, 'environments', j, 'name'],
            message: `duplicate environment "${env.name}" in service "${service.name}"`,
          });
        }
        envs.add(env.name);
      });
    });
  });

export type CoconutConfig = z.output<typeof configSchema>;
export type ServiceConfig = CoconutConfig['services'][number];
export type EnvironmentConfig = ServiceConfig['environments'][number];
export type TargetConfig = ServiceConfig['target'];
export type ImageConfig = ServiceConfig['image'];
export type LocalAlarmConfig = CoconutConfig['local']['alarms'][string];

/** JSON Schema of the file as a user writes it (input side: durations as strings). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
