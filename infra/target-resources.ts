/**
 * The AWS resources deploys and builds really touch, for IAM. Read from the same plans the
 * pipeline runs (src/core/triggers/plan.ts, src/core/triggers/start-release.ts), so that a name granted here is the
 * name a build or the ECS step is handed: `{environment}` expanded per environment, the target's
 * own region, the secret a release build logs in with.
 */
import type { CoconutConfig, ServiceConfig } from '../src/core/config/schema.ts';
import { buildEnvironment } from '../src/core/triggers/plan.ts';
import { releasePlan } from '../src/core/triggers/start-release.ts';

/** The deploy build's variables of a service in one environment, as the planner writes them. */
function planned(service: ServiceConfig, environment: string): Map<string, string> {
  const image = { registry: service.image.registry, repository: service.image.repository, tag: 'iam' };
  return new Map(buildEnvironment(service, environment, 'iam', image, 'deploy').map((v) => [v.Name, v.Value]));
}

/** One value per environment of every service of a target kind, from its planned build variables. */
export function everyEnvironment<T>(
  config: CoconutConfig,
  kind: string,
  pick: (vars: Map<string, string>) => T | undefined,
): T[] {
  const found: T[] = [];
  for (const service of config.services) {
    if (service.target.kind !== kind) continue;
    for (const env of service.environments) {
      const value = pick(planned(service, env.name));
      if (value !== undefined) found.push(value);
    }
  }
  return found;
}

/** EKS clusters the Helm builds run `aws eks update-kubeconfig` on, one per environment where templated. */
export function eksClusters(config: CoconutConfig): string[] {
  return [...new Set(everyEnvironment(config, 'helm', (v) => v.get('COCONUT_EKS_CLUSTER') || undefined))].sort();
}

/** Secrets Manager secret NAMES the image build logs in with (`source.pushSecret` of `onTag: build`). */
export function pushSecrets(config: CoconutConfig): string[] {
  const names = new Set<string>();
  for (const service of config.services) {
    if (service.source?.onTag !== 'build') continue;
    const plan = releasePlan(service, { repository: service.source.github, tag: 'iam' });
    const secret = plan.buildEnv.find((v) => v.Name === 'COCONUT_REGISTRY_SECRET')?.Value;
    if (secret) names.add(secret);
  }
  return [...names].sort();
}

/**
 * Secrets Manager secret NAMES the Ansible deploy and rollback builds read: the SSH key and the
 * known_hosts of each ansible target (templates/buildspec/scripts/ansible-ssh.sh), per environment.
 */
export function ansibleSecrets(config: CoconutConfig): string[] {
  const names = everyEnvironment(config, 'ansible', (v) =>
    ['COCONUT_ANSIBLE_SSH_KEY_SECRET', 'COCONUT_ANSIBLE_KNOWN_HOSTS_SECRET'].map((n) => v.get(n)).filter((n) => n !== undefined),
  );
  return [...new Set(names.flat())].sort();
}

/**
 * The ARN pattern of a secret known by name. Secrets Manager appends "-" and six random characters
 * to a secret's name in its ARN; `-??????` matches exactly those and not a longer name sharing the
 * prefix (Secrets Manager User Guide, "Permissions policy examples" / limiting access to specific
 * secrets: https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html).
 */
export function secretArnPattern(region: string, account: string, name: string): string {
  return `arn:aws:secretsmanager:${region}:${account}:secret:${name}-??????`;
}
