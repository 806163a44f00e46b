/**
 * Secrets on Lambda: the sst.Secret values that infra/ links to a function (never environment
 * variables, never logs). Read them here, at the edge, and pass plain values into the domain.
 * The contract test finds `secret('Name')` calls to check that each one is linked.
 */
import { Resource } from 'sst';

export type SecretName = 'SlackBotToken' | 'SlackSigningSecret' | 'GithubWebhookSecret' | 'DockerhubToken';

export function secret(name: SecretName): string {
  let value: unknown;
  try {
    value = (Resource as unknown as Record<string, { value?: unknown } | undefined>)[name]?.value;
  } catch (error) {
    throw new Error(`secret ${name} is not linked to this function (infra/function-manifest.ts): ${(error as Error).message}`);
  }
  if (typeof value !== 'string' || value === '') {
    throw new Error(`secret ${name} has no value: set it with \`npx sst secret set ${name} <value>\``);
  }
  return value;
}

/**
 * A secret that may be left unset on purpose (Slack is optional): its placeholder value
 * "none" (the default infra/ gives it) or an empty value means "not configured".
 */
export function optionalSecret(name: SecretName): string | undefined {
  const value = secret(name);
  return value === 'none' ? undefined : value;
}
