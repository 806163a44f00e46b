/**
 * Secrets, set per stage with `npx sst secret set <Name> <value> --stage <stage>`. Linked only
 * to the functions whose manifest entry lists them (infra/function-manifest.ts).
 */
import { SECRET_NAMES, type SecretName } from './function-manifest.ts';

/** Slack is optional: its secrets default to "none" (Slack off) so a deploy without Slack needs no value. */
const OPTIONAL: Partial<Record<SecretName, string>> = { SlackBotToken: 'none', SlackSigningSecret: 'none' };

export function secrets(): Record<SecretName, SstSecret> {
  return Object.fromEntries(
    SECRET_NAMES.map((name) => [
      name,
      OPTIONAL[name] === undefined ? new sst.Secret(name) : new sst.Secret(name, OPTIONAL[name]),
    ]),
  ) as Record<SecretName, SstSecret>;
}
