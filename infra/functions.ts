/**
 * One Lambda per handler in functions/ (every file except commons/ and http-routes.ts):
 * Node.js 22 on arm64, coconut.yaml bundled, its own least-privilege permissions from the
 * manifest, only the secrets it reads, and a dead-letter queue when it is invoked asynchronously.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { FUNCTIONS, type SecretName } from './function-manifest.ts';
import { pascal } from './naming.ts';
import { type ResourceRefs, statementsFor } from './permissions.ts';

/** Handler files in functions/ that are deployed as Lambdas: "ecr-push", "api", ... */
export function handlerNames(root = process.cwd()): string[] {
  return readdirSync(path.join(root, 'functions'), { withFileTypes: true })
    .filter((f) => f.isFile() && f.name.endsWith('.ts') && !f.name.endsWith('.d.ts') && f.name !== 'http-routes.ts')
    .map((f) => f.name.slice(0, -'.ts'.length))
    .sort();
}

export interface FunctionsArgs {
  configFile: string;
  table: Resource;
  secrets: Record<SecretName, SstSecret>;
  refs: ResourceRefs;
}

export function functions(args: FunctionsArgs) {
  const created: Record<string, Resource> = {};
  const deadLetterQueues: Record<string, Resource> = {};
  for (const name of handlerNames()) {
    const spec = FUNCTIONS[name];
    if (!spec) {
      throw new Error(
        `functions/${name}.ts has no entry in infra/function-manifest.ts: add its capabilities and secrets there (nothing is granted by default)`,
      );
    }
    const permissions = statementsFor(spec.capabilities, args.refs);
    let transform: Record<string, unknown> | undefined;
    if (spec.async) {
      const dlq = new sst.aws.Queue(`${pascal(name)}Dlq`, {
        transform: { queue: { messageRetentionSeconds: 14 * 86400 } },
      });
      deadLetterQueues[name] = dlq;
      permissions.push({ actions: ['sqs:SendMessage'], resources: [dlq.arn] });
      transform = { function: { deadLetterConfig: { targetArn: dlq.arn } } };
    }
    created[name] = new sst.aws.Function(pascal(name), {
      description: `Coconut: ${spec.description}`,
      handler: `functions/${name}.handler`,
      runtime: 'nodejs22.x',
      architecture: 'arm64',
      timeout: spec.timeout ?? '30 seconds',
      memory: spec.memory ?? '512 MB',
      copyFiles: [{ from: args.configFile, to: 'coconut.yaml' }],
      environment: {
        COCONUT_CONFIG: 'coconut.yaml',
        COCONUT_TABLE: args.table.name,
        ...Object.fromEntries(
          Object.entries(args.refs.machines).map(([machine, m]) => [`COCONUT_${machine.toUpperCase()}_STATE_MACHINE`, m.arn]),
        ),
        COCONUT_LOG_LEVEL: 'INFO',
      },
      link: (spec.secrets ?? []).map((s) => args.secrets[s]),
      permissions,
      logging: { retention: '1 month', format: 'json' },
      ...(transform ? { transform } : {}),
    });
  }
  return { functions: created, deadLetterQueues };
}
