/**
 * Secrets, set per stage with `npx sst secret set <Name> <value> --stage <stage>`. Linked only
 * to the functions whose manifest entry lists them (infra/function-manifest.ts).
 */
import { SECRET_NAMES, type SecretName } from './function-manifest.ts';

export function secrets(): Record<SecretName, SstSecret> {
  return Object.fromEntries(SECRET_NAMES.map((name) => [name, new sst.Secret(name)])) as Record<SecretName, SstSecret>;
}
