/**
 * The one schema of coconut.yaml. Everything else (the loader, the JSON Schema for
 * editors, `coconut validate`) derives from it, so it is the single place to change.
 * Objects are strict: a misspelled key is an error, not a silently ignored setting.
 */

import { z } from 'zod';
import { GITHUB_REPOSITORY_PATTERN } from '../events/github.ts';
import { parseDuration } from '../model/duration.ts';
import { looksLikeArn, parseApproverArn, parseCallerArn } from '../model/iam-identity.ts';
import { REPOSITORY_MAX_LENGTH, REPOSITORY_PATTERN } from '../model/oci.ts';
import { freezeWindowProblem } from '../pipeline/freeze.ts';
import { parseTrustedIdentity } from '../pipeline/notation-identity.ts';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ALARM_NAME = /^[A-Za-z0-9._\-/#:()+= ]{1,255}$/;
const SLACK_USER = /^[UW][A-Z0-9]{1,20}$/;
const SLACK_APPROVER = /^[UWS][A-Z0-9]{1,20}$/;

/** A Slack channel id (C…/G…) or a channel name (#deploys). */
const slackChannel = z
  .string()
  .regex(/^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{1,20})$/, 'expected a Slack channel id (C…) or name like "#deploys"');

/** Credentials are named, never written here: the name of a secret in AWS Secrets Manager. */
const secretName = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'expected the NAME of a secret (in AWS Secrets Manager), never its value')
    .describe(`Name of the secret (AWS Secrets Manager, JSON {"username","password"}) that ${what}. A name, never the value.`);

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
    pullSecret: secretName('pulls the image').optional(),
  })
  .describe('Where the service image comes from.');

/** A path inside the repository: relative, no "..", not starting with "-" (it reaches a command line). */
const repoPath = z
  .string()
  .regex(
    /^(?!-)(?!\/)(?!.*\.\.)[A-Za-z0-9._/-]{1,255}$/,
    'expected a relative path inside the repository (letters, digits, . _ / -; no "..", not starting with - or /)',
  );

export const sourceSchema = z
  .strictObject({
    github: z
      .string()
      .regex(GITHUB_REPOSITORY_PATTERN, 'expected a GitHub repository "owner/name", e.g. octo-org/demo-api')
      .describe('The GitHub repository whose tags release this service.'),
    onTag: z
      .enum(['build', 'deploy'], { message: 'expected onTag to be "build" or "deploy"' })
      .default('deploy')
      .describe(
        'deploy: a tag deploys the image <image.repository>:<tag>, built elsewhere (registry pushes of this service are then ignored, so one tag deploys once). build: a tag builds and pushes that image in CodeBuild; the registry push then deploys it.',
      ),
    context: repoPath.default('.').describe('Docker build context for onTag: build.'),
    dockerfile: repoPath.default('Dockerfile').describe('Dockerfile for onTag: build, relative to the repository root.'),
    pushSecret: secretName('pushes the built image (GHCR, Docker Hub; ECR uses the build role)').optional(),
  })
  .describe('Git tags that release this service (GitHub webhook `push`/`create` of a tag).');

/** A full image name without tag or digest: registry host, optional port, repository path. */
export const IMAGE_NAME_PATTERN = /^[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]{1,5})?(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)+$/;
/** A path relative to the repository root: no "..", no leading "/" or "-", no commas (lists travel comma-joined). */
const RELATIVE_PATH = /^(?!-)(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._/{}-]+$/;

const imageRepository = z
  .string()
  .regex(
    IMAGE_NAME_PATTERN,
    'expected a full image name without tag, like "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-api"',
  )
  .optional()
  .describe(
    'Full image name without tag or digest. Default: from image.registry — ghcr.io/<repository>, docker.io/<repository>, or for ECR the registry of the build account and region.',
  );

/**
 * A name that may differ per environment: "{environment}" is replaced by the environment's name
 * when a deployment is planned (e.g. namespace "web-{environment}", cluster "main-{environment}").
 */
const perEnvironment = (pattern: RegExp, message: string) =>
  z.string().refine((value) => pattern.test(value.replaceAll('{environment}', 'env')), {
    message: `${message} ("{environment}" is replaced by the environment name)`,
  });

const relativePath = (what: string) =>
  z.string().regex(RELATIVE_PATH, `expected ${what} relative to the repository root (letters, digits, . _ - / only; no "..")`);

/**
 * A Secrets Manager secret name as the Ansible builds pass it to `aws secretsmanager
 * get-secret-value --secret-id=...`: the characters Secrets Manager allows in a name, not starting
 * with "-" (never an option), "{environment}" allowed (replaced by the environment name).
 */
const SSH_SECRET_NAME = /^(?!-)[A-Za-z0-9/_+=.@-]{1,512}$/;
const sshSecret = (what: string) =>
  perEnvironment(SSH_SECRET_NAME, `expected the NAME of a Secrets Manager secret that ${what}, never its value`);

const knownHosts = z
  .strictObject({
    secret: sshSecret('holds the known_hosts lines of the hosts')
      .optional()
      .describe('Secrets Manager secret whose text is known_hosts lines (e.g. `ssh-keyscan` output you checked).'),
    file: relativePath('a known_hosts file')
      .optional()
      .describe('A known_hosts file in the repository (it travels in the build source).'),
  })
  .superRefine((value, ctx) => {
    if ((value.secret === undefined) === (value.file === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message:
          'expected exactly one of knownHosts.secret (a Secrets Manager secret name) or knownHosts.file (a known_hosts file in the repository)',
      });
    }
  })
  .describe(
    'Public host keys of the hosts, checked strictly (StrictHostKeyChecking=yes): a host whose key is not listed is refused. "{environment}" is replaced by the environment name.',
  );

const ansibleTarget = z
  .strictObject({
    kind: z.literal('ansible'),
    playbook: z.string().min(1).default('templates/ansible/deploy.yml'),
    rollbackPlaybook: z.string().min(1).default('templates/ansible/rollback.yml'),
    inventory: z.string().min(1).describe('Inventory path relative to the source root; groups are environment names.'),
    sshKey: sshSecret('holds the SSH private key')
      .optional()
      .describe(
        'Name of the Secrets Manager secret holding the SSH private key (OpenSSH or PEM text, no passphrase) the builds log in to the hosts with; loaded into ssh-agent, never written to disk. "{environment}" is replaced by the environment name. A name, never the value.',
      ),
    knownHosts: knownHosts.optional(),
    user: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, 'expected a remote user name like "deploy" (letters, digits, _ . -)')
      .optional()
      .describe('Remote user on the hosts (ANSIBLE_REMOTE_USER) where the inventory sets no ansible_user.'),
  })
  .superRefine((target, ctx) => {
    if (target.sshKey !== undefined && target.knownHosts === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['knownHosts'],
        message:
          'sshKey needs knownHosts: host keys are always checked strictly and a build knows no hosts of its own; name a secret ({ secret: NAME }) or a file ({ file: PATH }) holding the known_hosts lines',
      });
    }
  });

const helmTarget = z.strictObject({
  kind: z.literal('helm'),
  release: perEnvironment(/^[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?$/, 'expected a Helm release name (at most 53 characters)')
    .optional()
    .describe('Helm release name. Default: the service name.'),
  chart: relativePath('a chart folder').default('templates/helm/coconut-service'),
  namespace: perEnvironment(NAME, 'expected a Kubernetes namespace name').default('default'),
  cluster: perEnvironment(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'expected an EKS cluster name')
    .optional()
    .describe('EKS cluster name used to build the kubeconfig. Without it the build uses the kubeconfig it already has.'),
  timeout: duration(10, 3600).default(300),
  valuesFiles: z
    .array(relativePath('a values file'))
    .default([])
    .describe('Values files applied in order after the chart defaults; "{environment}" is replaced by the environment name.'),
  imagePullSecrets: z
    .array(name('Kubernetes secret'))
    .default([])
    .describe('Names of existing image pull secrets (GHCR, Docker Hub) in the namespace.'),
  imageRepository,
});

export const COPILOT_SERVICE_TYPES = ['Load Balanced Web Service', 'Backend Service'] as const;

const copilotTarget = z.strictObject({
  kind: z.literal('copilot'),
  app: name('Copilot application'),
  name: name('Copilot service').optional().describe('Copilot service name. Default: the service name.'),
  type: z
    .enum(COPILOT_SERVICE_TYPES, { message: 'expected "Load Balanced Web Service" or "Backend Service"' })
    .default('Load Balanced Web Service')
    .describe('The Copilot manifest type `coconut generate copilot` writes.'),
  workspace: relativePath('the folder holding copilot/').default('.'),
  imageRepository,
});

const ecsTarget = z.strictObject({
  kind: z.literal('ecs'),
  cluster: perEnvironment(
    /^(?:[A-Za-z0-9_-]{1,255}|arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255})$/,
    'expected an ECS cluster name or ARN',
  ),
  service: perEnvironment(/^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/, 'expected an ECS service name')
    .optional()
    .describe('ECS service name. Default: the service name.'),
  container: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/, 'expected a container name')
    .optional()
    .describe('Container whose image is replaced. Default: the only container, or the one named like the service.'),
  region: z
    .string()
    .regex(/^[a-z]{2}(?:-[a-z]+)+-\d$/, 'expected an AWS region like "eu-west-1"')
    .optional()
    .describe("AWS region of the cluster. Default: the pipeline's region."),
});

export const TARGET_KINDS = ['ansible', 'helm', 'copilot', 'ecs'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export const targetSchema = z.discriminatedUnion('kind', [ansibleTarget, helmTarget, copilotTarget, ecsTarget], {
  message: 'expected target.kind to be one of "ansible", "helm", "copilot", "ecs"',
});

/**
 * An approver: a Slack id, or an IAM ARN (src/core/model/iam-identity.ts says what each form
 * matches). Anything starting with "arn:" must be a valid approver ARN; the error says which form.
 */
const approver = z
  .string()
  .superRefine((value, ctx) => {
    if (looksLikeArn(value)) {
      const parsed = parseApproverArn(value);
      if ('error' in parsed) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)}: ${parsed.error}` });
    } else if (!SLACK_APPROVER.test(value)) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a Slack user id (U…/W…) or user group id (S…), like U0123ABCD, or an IAM ARN like arn:aws:iam::123456789012:role/deployers; got ${JSON.stringify(value)}`,
      });
    }
  })
  .meta({
    examples: ['U0123ABCD', 'S0DEPLOYERS', 'arn:aws:iam::123456789012:user/alice', 'arn:aws:iam::123456789012:role/deployers'],
  });

export const SEVERITIES = ['NONE', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

/** LinearConfiguration.stepPercent's floor (ECS API reference); src/core/pipeline/ecs-rollout.ts ECS_LIMITS says the same. */
const ECS_LINEAR_MIN_STEP_PERCENT = 3;

export const ROLLOUT_STRATEGIES = ['canary', 'linear'] as const;

/**
 * How an environment moves to the new version: in steps, each baked under the environment's
 * alarms, instead of all at once (the default when `rollout` is absent). The cumulative
 * percentages come from src/core/pipeline/rollout.ts `rolloutSteps()`.
 */
export const rolloutSchema = z
  .strictObject({
    strategy: z
      .enum(ROLLOUT_STRATEGIES, { message: 'expected rollout.strategy to be "canary" or "linear"' })
      .describe('canary: the steps you list, then 100%. linear: equal steps of stepPercent up to 100%.'),
    steps: z
      .array(
        z
          .number({ message: 'expected a percentage (a whole number from 1 to 99)' })
          .int('expected a whole-number percentage')
          .min(1, 'expected a percentage from 1 to 99 (100% is always the last step, do not list it)')
          .max(99, 'expected a percentage from 1 to 99 (100% is always the last step, do not list it)'),
      )
      .min(1, 'expected at least one canary step, like [10] or [10, 50]')
      .optional()
      .describe('canary only: increasing cumulative percentages, each 1..99, e.g. [10, 50]; 100% always follows.'),
    stepPercent: z
      .number({ message: 'expected a percentage (a whole number from 1 to 50)' })
      .int('expected a whole-number percentage')
      .min(1, 'expected stepPercent from 1 to 50')
      .max(50, 'expected stepPercent from 1 to 50 (at least two steps; without steps, leave rollout out)')
      .optional()
      .describe('linear only: the share added at each step, 1..50; 25 gives 25, 50, 75, 100.'),
    bake: duration(0, 24 * 3600)
      .optional()
      .describe("Bake of each step under the environment's alarms. Default: the environment's bake."),
    approveSteps: z
      .boolean()
      .default(false)
      .describe(
        "When true, each step after the first waits for the environment's approval (its approvers, fourEyes, Slack buttons) before it starts. Requires `approval:`.",
      ),
  })
  .superRefine((rollout, ctx) => {
    if (rollout.strategy === 'canary') {
      if (rollout.steps === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps'],
          message: 'a canary rollout needs steps: increasing percentages like [10, 50]',
        });
      } else {
        rollout.steps.forEach((step, i) => {
          const previous = rollout.steps?.[i - 1];
          if (previous !== undefined && step <= previous) {
            ctx.addIssue({
              code: 'custom',
              path: ['steps', i],
              message: `expected steps in increasing order: ${step} follows ${previous} (steps are cumulative percentages of the environment)`,
            });
          }
        });
      }
      if (rollout.stepPercent !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['stepPercent'],
          message: 'stepPercent belongs to strategy linear; a canary lists its steps',
        });
      }
    } else {
      if (rollout.stepPercent === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['stepPercent'],
          message: 'a linear rollout needs stepPercent (1..50), e.g. 25 for 25, 50, 75, 100',
        });
      }
      if (rollout.steps !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps'],
          message: 'steps belong to strategy canary; a linear rollout sets stepPercent',
        });
      }
    }
  })
  .describe(
    "Deploy this environment in steps (canary or linear), each baked under the environment's alarms; an alarm in any step rolls back every step. Absent: all at once.",
  );

/**
 * A freeze window (src/core/pipeline/freeze.ts): from each time `schedule` names, for `duration`.
 * The cron and the time zone are checked by the same library that evaluates them (croner).
 */
export const freezeWindowSchema = z
  .strictObject({
    schedule: z.string().describe('Cron, five fields (minute hour day-of-month month day-of-week), e.g. "0 18 * * 5".'),
    duration: duration(60, 366 * 86400).describe('How long each window lasts from its start, e.g. "64h".'),
    timeZone: z.string().default('UTC').describe('IANA time zone the schedule is read in, e.g. "Europe/Berlin".'),
    mode: z
      .enum(['deny', 'allow'], { message: 'expected mode "deny" (no deployments inside) or "allow" (deployments only inside)' })
      .default('deny'),
    reason: z.string().min(1).max(200).optional().describe('Shown on frozen deployments, e.g. "weekend freeze".'),
  })
  .superRefine((window, ctx) => {
    const problem = freezeWindowProblem(window);
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        path: [problem.startsWith('expected an IANA') ? 'timeZone' : 'schedule'],
        message: problem,
      });
    }
  });

const freezeWindows = z
  .array(freezeWindowSchema)
  .optional()
  .describe(
    'Freeze windows: deny windows hold deployments while active; with allow windows, deployments go only inside one. Rollbacks are never held.',
  );

export const environmentSchema = z.strictObject({
  name: name('environment'),
  approval: z
    .strictObject({
      approvers: z
        .array(approver)
        .min(1, 'expected at least one approver')
        .describe(
          'Who may approve (and roll back): Slack user ids (U…/W…), Slack user group ids (S…), or AWS IAM ARNs for the CLI on AWS without `auth:`: a user (arn:aws:iam::123456789012:user/alice), a role meaning anyone who assumes it (arn:aws:iam::123456789012:role/deployers), or one session of a role (arn:aws:sts::123456789012:assumed-role/deployers/alice).',
        ),
      timeout: duration(1, 7 * 86400)
        .default(3600)
        .describe('How long to wait for a decision; then the deployment ends REJECTED (expired).'),
      fourEyes: z
        .boolean()
        .default(false)
        .describe(
          'When true, whoever triggered the deployment may not approve it. People are compared by identity (Slack id, ISSUER#SUB of a dashboard user, IAM principal, or what slack.users maps them to); when Coconut cannot tell who triggered it (an ECR push names no user) or cannot compare them with the approver, the approval is refused, saying why.',
        ),
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
  rollout: rolloutSchema.optional(),
  freeze: freezeWindows,
});

/** A PEM public key written in coconut.yaml (a path is read into this by the loader, load.ts). */
export const PEM_PUBLIC_KEY = /^\s*-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----\s*$/;

/** PEM certificate(s) written in coconut.yaml (a path is read into this by the loader, load.ts). */
export const PEM_CERTIFICATES = /^\s*(-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*)+$/;

/**
 * Notation (Notary Project) verification, shaped after Notation's trust store and trust policy
 * (notaryproject/specifications specs/trust-store-trust-policy.md): the trusted roots are the
 * trust store, `identities` the policy's trustedIdentities (`x509.subject: C=.., ST=.., O=..` or
 * `*`), `signingProfileArn` the AWS Signer identity (a signingAuthority trust store then).
 * Checked by src/core/pipeline/notation-verify.ts.
 */
export const notationSchema = z
  .strictObject({
    trustedRoots: z
      .string()
      .refine((v) => PEM_CERTIFICATES.test(v) || RELATIVE_PATH.test(v), {
        message:
          'expected PEM certificate(s) ("-----BEGIN CERTIFICATE-----...", e.g. the AWS Signer root certificate) or a path to them relative to coconut.yaml',
      })
      .describe(
        'The trust store: root certificate(s) the signing chain must lead to (PEM, here or as a path relative to coconut.yaml). For AWS Signer, its root certificate (aws-signer-notation-root.cert).',
      ),
    identities: z
      .array(
        z.string().refine((v) => v.trim() === '*' || /^\s*x509\.subject\s*:/.test(v), {
          message: 'expected "x509.subject: C=<country>, ST=<state>, O=<organization>[, OU=.., CN=..]" or "*"',
        }),
      )
      .min(1)
      .optional()
      .describe(
        'Trusted identities, as in a Notation trust policy: "x509.subject: C=US, ST=WA, O=example" (the signing certificate\'s subject must hold each of these; C, ST and O required) or "*" (any certificate of the trusted roots).',
      ),
    signingProfileArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:signer:[a-z0-9-]+:\d{12}:\/signing-profiles\/[A-Za-z0-9_]+(\/[A-Za-z0-9]{10})?$/,
        'expected an AWS Signer signing profile ARN (arn:aws:signer:<region>:<account>:/signing-profiles/<name>)',
      )
      .optional()
      .describe('Notation with AWS Signer (what ECR managed signing produces): the signing profile that must have signed.'),
  })
  .superRefine((n, ctx) => {
    if (!n.identities && !n.signingProfileArn) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected identities: ["x509.subject: C=.., ST=.., O=.."] (your own CA) or signingProfileArn: (AWS Signer)',
      });
    }
    if (n.identities && n.signingProfileArn) {
      ctx.addIssue({
        code: 'custom',
        path: ['identities'],
        message:
          'expected identities: or signingProfileArn:, not both: with AWS Signer the signing profile is the identity (as in its Notation trust policy)',
      });
    }
    n.identities?.forEach((identity, i) => {
      const parsed = identity.trim() === '*' ? undefined : parseTrustedIdentity(identity);
      if (parsed && 'error' in parsed) ctx.addIssue({ code: 'custom', path: ['identities', i], message: parsed.error });
    });
    if (n.identities && n.identities.length > 1 && n.identities.some((i) => i.trim() === '*')) {
      ctx.addIssue({ code: 'custom', path: ['identities'], message: '"*" must be the only identity when it is used' });
    }
  })
  .describe('Notation (Notary Project) signatures: verified as `notation verify` does with a trust store and trust policy.');

/**
 * Keyless cosign (`cosign verify --certificate-identity[-regexp] --certificate-oidc-issuer[-regexp]`):
 * exactly one of identity/identityRegexp and one of issuer/issuerRegexp, as cosign requires.
 * Regexps are matched unanchored, as cosign's Go regexp.MatchString (src/core/pipeline/cosign-keyless.ts).
 */
const keylessCosignSchema = z
  .strictObject({
    // Never valid here: it makes a config with `key` fail this branch outright, so the key branch's
    // own message (e.g. about the PEM) is the one shown, not zod's "Invalid input" for the union.
    key: z.never().optional(),
    identity: z
      .string()
      .min(1)
      .optional()
      .describe('Keyless: the exact certificate identity (SAN), e.g. a GitHub Actions workflow URL or an email.'),
    identityRegexp: z
      .string()
      .min(1)
      .optional()
      .describe('Keyless: a regexp the certificate identity must match (unanchored, as cosign).'),
    issuer: z
      .url('expected the OIDC issuer URL, e.g. https://token.actions.githubusercontent.com (or issuerRegexp for a pattern)')
      .optional()
      .describe('Keyless: the exact OIDC issuer of that identity (e.g. https://token.actions.githubusercontent.com).'),
    issuerRegexp: z.string().min(1).optional().describe('Keyless: a regexp the OIDC issuer must match (unanchored, as cosign).'),
    trustedRoot: z
      .string()
      .refine((v) => TRUSTED_ROOT_JSON.test(v) || RELATIVE_PATH.test(v), {
        message: 'expected a path to a Sigstore trusted_root.json relative to coconut.yaml',
      })
      .optional()
      .describe(
        "Keyless: your own Sigstore's trusted_root.json (path relative to coconut.yaml); default: Sigstore's public-good instance, through TUF.",
      ),
  })
  .superRefine((keyless, ctx) => {
    const pairs = [
      ['identity', 'identityRegexp', 'the identity that must have signed (the certificate SAN, --certificate-identity)'],
      ['issuer', 'issuerRegexp', 'its OIDC issuer (--certificate-oidc-issuer)'],
    ] as const;
    for (const [exact, regexp, what] of pairs) {
      const given = [exact, regexp].filter((k) => keyless[k] !== undefined);
      if (given.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: given.length === 0 ? [] : [regexp],
          message: `expected exactly one of ${exact} or ${regexp}: ${what}${given.length === 2 ? '; both are set' : ''}`,
        });
      }
      const pattern = keyless[regexp];
      if (pattern !== undefined) {
        try {
          new RegExp(pattern, 'u');
        } catch (error) {
          ctx.addIssue({
            code: 'custom',
            path: [regexp],
            message: `not a valid regular expression: ${(error as Error).message}`,
          });
        }
      }
    }
  });

/** A trusted root written into the config (the loader, load.ts, reads a path into this). */
export const TRUSTED_ROOT_JSON = /^\s*\{/;

/**
 * Who must have signed the image. cosign with a public key is verified by the signature gate
 * (src/core/pipeline/signature-gate.ts), and so are keyless cosign ({ identity, issuer }) and
 * Notation (notationSchema above); a service takes one of cosign or notation.
 */
export const verifySchema = z
  .strictObject({
    cosign: z
      .union([
        z.strictObject({
          key: z
            .string()
            .refine((v) => PEM_PUBLIC_KEY.test(v) || RELATIVE_PATH.test(v), {
              message:
                'expected a PEM public key ("-----BEGIN PUBLIC KEY-----...", what `cosign generate-key-pair` writes to cosign.pub) or a path to one relative to coconut.yaml',
            })
            .describe('The cosign public key (ECDSA P-256, PEM), written here or as a path relative to coconut.yaml.'),
        }),
        keylessCosignSchema,
      ])
      .optional(),
    notation: notationSchema.optional(),
  })
  .superRefine((verify, ctx) => {
    if (!verify.cosign && !verify.notation) {
      ctx.addIssue({
        code: 'custom',
        message:
          'expected cosign: { key: ... } (the public key the image must be signed with), cosign: { identity, issuer } (keyless) or notation: { trustedRoots, identities | signingProfileArn }',
      });
    }
    if (verify.notation && verify.cosign) {
      ctx.addIssue({ code: 'custom', message: 'expected cosign: or notation:, not both (one signature kind per service)' });
    }
  })
  .describe(
    'Signed-image gate: an image not signed as this says (cosign key, keyless cosign identity, or Notation) stops the deployment before it starts, in every environment.',
  );

export const serviceSchema = z
  .strictObject({
    name: name('service'),
    image: imageSchema,
    source: sourceSchema.optional(),
    target: targetSchema,
    environments: z
      .array(environmentSchema)
      .min(1, 'expected at least one environment')
      .describe('Environments in promotion order: a failure in one stops the later ones.'),
    verify: verifySchema.optional(),
  })
  .superRefine((service, ctx) => {
    service.environments.forEach((env, j) => {
      const problem = env.rollout && rolloutProblem(service.target.kind, env);
      if (problem)
        ctx.addIssue({ code: 'custom', path: ['environments', j, 'rollout', ...problem.path], message: problem.message });
    });
  });

/**
 * What a rollout cannot do on this environment or target kind. Copilot deploys rolling with
 * rollback_alarms only (https://aws.github.io/copilot-cli/docs/manifest/lb-web-service/#deployment);
 * an ECS canary shifts one canaryPercent then the rest (@aws-sdk/client-ecs CanaryConfiguration).
 */
function rolloutProblem(
  kind: TargetKind,
  env: z.output<typeof environmentSchema>,
): { path: (string | number)[]; message: string } | undefined {
  const rollout = env.rollout;
  if (!rollout) return undefined;
  if (kind === 'copilot') {
    return {
      path: [],
      message:
        "a copilot target cannot deploy in steps: Copilot deploys rolling, with rollback_alarms only; remove rollout here (canary and linear on ECS are kind: ecs, with ECS's own CANARY and LINEAR strategies)",
    };
  }
  if (kind === 'ecs' && rollout.strategy === 'canary' && (rollout.steps?.length ?? 0) > 1) {
    return {
      path: ['steps'],
      message: `an ECS canary has one canary percentage and then 100% (canaryConfiguration.canaryPercent); got ${rollout.steps?.length} steps [${rollout.steps?.join(', ')}]. Use one step like [10], or strategy: linear with stepPercent`,
    };
  }
  // ECS's own LINEAR strategy shifts 3% to 100% per step (LinearConfiguration.stepPercent,
  // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html).
  if (kind === 'ecs' && rollout.strategy === 'linear' && (rollout.stepPercent ?? 0) < ECS_LINEAR_MIN_STEP_PERCENT) {
    return {
      path: ['stepPercent'],
      message: `ECS linear deployments shift at least ${ECS_LINEAR_MIN_STEP_PERCENT}% per step (linearConfiguration.stepPercent); got ${rollout.stepPercent}`,
    };
  }
  if (rollout.approveSteps && !env.approval) {
    return {
      path: ['approveSteps'],
      message: 'approveSteps needs approval: with approvers on this environment (they approve each step after the first)',
    };
  }
  return undefined;
}

/**
 * A `slack.users` key that could never match is refused rather than silently ignored: a
 * dashboard user is ISSUER#SUB, and an IAM caller is a user, role session or federated user
 * ARN (what API Gateway reports), never a role or group.
 */
function userKeyProblem(key: string): string | undefined {
  if (/^https?:\/\//.test(key) && !/^https:\/\/[^#\s]+#\S+$/.test(key)) {
    return 'a dashboard user is ISSUER#SUB: the https issuer and the sub claim joined by "#" (e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf#8c1f0e2a-…)';
  }
  if (looksLikeArn(key) && !parseCallerArn(key)) {
    return 'expected the ARN of a caller as API Gateway reports it: an IAM user (arn:aws:iam::123456789012:user/alice) or a role session (arn:aws:sts::123456789012:assumed-role/deployers/alice), not a role or group';
  }
  return undefined;
}

export const slackSchema = z
  .strictObject({
    channel: slackChannel.default('#deploys').describe('Channel of the deployment threads and, by default, of approvals.'),
    dashboardUrl: z
      .url({ message: 'expected the http(s) URL of the Coconut dashboard' })
      .optional()
      .describe('Base URL of the dashboard; messages link to <dashboardUrl>/#/deployments/<id>.'),
    users: z
      .record(z.string().min(1), z.string().regex(SLACK_USER, 'expected a Slack user id (U…/W…), like U0123ABCD'))
      .superRefine((users, ctx) => {
        for (const key of Object.keys(users)) {
          const problem = userKeyProblem(key);
          if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
        }
      })
      .default({})
      .describe(
        "Who is who -> Slack user id, for approvals and fourEyes. Keys: dashboard users as ISSUER#SUB (their token's iss and sub claims, e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf#8c1f…), IAM principals (arn:aws:sts::123456789012:assumed-role/deployers/alice), and who pushed: GitHub logins, registry users.",
      ),
  })
  .describe('Slack: approval messages and one thread per deployment (needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET).');

const localAlarmSchema = z.strictObject({
  probe: z.url({ message: 'expected an http(s) URL to probe' }).optional(),
  period: duration(1, 3600).default(2),
  failuresToAlarm: z.number().int().min(1).max(100).default(2),
});

/**
 * Who may use the dashboard and the API on AWS: an OpenID Connect issuer (the company's identity
 * provider, or a Cognito user pool). infra/ puts an HTTP API JWT authorizer with this issuer and
 * audience in front of every non-public route; the dashboard signs people in against it
 * (authorization code flow with PKCE, as a public client: no secret anywhere in the page).
 */
export const authSchema = z
  .strictObject({
    issuer: z
      .url({ protocol: /^https$/, message: 'expected the https URL of an OpenID Connect issuer' })
      .describe('e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf or https://login.example.com'),
    audience: z
      .array(z.string().min(1))
      .min(1, 'expected at least one audience')
      .describe('Accepted "aud" (ID tokens) or "client_id" (Cognito access tokens) values: usually the app client id.'),
    clientId: z.string().min(1).optional().describe("The dashboard's OAuth client id; default: the first audience."),
    scopes: z.array(z.string().min(1)).default(['openid', 'email', 'profile']),
    token: z
      .enum(['id', 'access'])
      .default('id')
      .describe(
        'Which token the dashboard sends. A user is identified by its iss and sub claims (never by email or custom attributes, which users may edit); slack.users maps ISSUER#SUB to their Slack id.',
      ),
  })
  .describe('Sign-in for the dashboard and API on AWS (OIDC / Cognito). The local runtime needs none: it listens on 127.0.0.1.');

/**
 * Where the CodeBuild deploy steps run. One CodeBuild project serves each buildspec (all services of a
 * target kind), so the network is set once for the pipeline, not per service. Without `vpc` the builds
 * run outside any VPC: they reach public endpoints only (public EKS endpoints, SSH hosts with public
 * addresses, the AWS APIs). With it, deploy and rollback builds run in these subnets, and must reach the
 * internet through a NAT gateway (tool downloads, AWS APIs) unless VPC endpoints and mirrors stand in.
 */
export const buildSchema = z
  .strictObject({
    architecture: z
      .enum(['arm64', 'x86_64'], { message: 'expected build.architecture to be "arm64" or "x86_64"' })
      .default('arm64')
      .describe(
        'CPU of the deploy and rollback builds: arm64 (Graviton, cheaper) or x86_64 (for Regions without ARM_CONTAINER builds).',
      ),
    vpc: z
      .strictObject({
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'expected a VPC id like "vpc-0abc1234def567890"'),
        subnets: z
          .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'expected a subnet id like "subnet-0abc1234def567890"'))
          .min(1, 'expected at least one subnet (private subnets with a NAT gateway route)')
          .max(16, 'expected at most 16 subnets (CodeBuild VpcConfig limit)')
          .describe('Private subnets of the VPC; their route table needs a NAT gateway for downloads and AWS APIs.'),
        securityGroups: z
          .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'expected a security group id like "sg-0abc1234def567890"'))
          .min(1, 'expected at least one security group')
          .max(5, 'expected at most 5 security groups (CodeBuild VpcConfig limit)')
          .describe('Security groups of the build; allow egress to the SSH hosts, the EKS endpoint and HTTPS.'),
      })
      .optional()
      .describe(
        'Run deploy and rollback builds inside this VPC: needed for private SSH hosts (ansible) and private EKS endpoints (helm).',
      ),
  })
  .describe('Where the CodeBuild deploy steps run on AWS (see docs/aws-builds.md).');

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
    auth: authSchema.optional(),
    build: buildSchema.optional(),
    freeze: freezeWindows.describe('Freeze windows of every environment of every service (added to their own).'),
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
export type AuthConfig = NonNullable<CoconutConfig['auth']>;
export type BuildConfig = NonNullable<CoconutConfig['build']>;
/** An environment's step strategy, bakes in seconds (the design's shape, shared with the target modules). */
export type RolloutConfig = z.output<typeof rolloutSchema>;

/** JSON Schema of the file as a user writes it (input side: durations as strings). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
