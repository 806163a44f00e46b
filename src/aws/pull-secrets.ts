/**
 * Registry credentials for digest lookups: the Secrets Manager secret that a service's
 * image.pullSecret names, holding JSON {"username","password"} (the same shape as
 * source.pushSecret). Read at the edge, kept a few minutes per container (a webhook must answer
 * quickly; a rotated secret is picked up within that time), never logged.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RegistryCredentials } from '../registry/oci-digest.ts';
import { errorName } from './errors.ts';

const KEEP_MS = 5 * 60_000;

export class PullSecrets {
  private readonly client: SecretsManagerClient;
  private readonly cache = new Map<string, { at: number; value: RegistryCredentials }>();
  constructor(client: SecretsManagerClient) {
    this.client = client;
  }

  async read(name: string): Promise<RegistryCredentials> {
    const cached = this.cache.get(name);
    if (cached && Date.now() - cached.at < KEEP_MS) return cached.value;
    let text: string | undefined;
    try {
      text = (await this.client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
    } catch (error) {
      // A 403 is a refusal whatever its body says (AWS answers AccessDeniedException as JSON;
      // an emulator or proxy may not).
      const denied =
        errorName(error) === 'AccessDeniedException' ||
        (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403;
      const why =
        errorName(error) === 'ResourceNotFoundException'
          ? 'it does not exist in this account and region'
          : denied
            ? 'Coconut may not read it (infra grants secretsmanager:GetSecretValue on each image.pullSecret in coconut.yaml: redeploy after adding one)'
            : `${errorName(error) || 'error'}: ${(error as Error).message}`;
      throw new Error(`could not read pull secret ${name}: ${why}`);
    }
    const value = parseCredentials(text);
    if (!value)
      throw new Error(
        `pull secret ${name} is not JSON {"username","password"} (expected e.g. {"username":"bot","password":"<token>"})`,
      );
    this.cache.set(name, { at: Date.now(), value });
    return value;
  }
}

function parseCredentials(text: string | undefined): RegistryCredentials | undefined {
  try {
    const json = JSON.parse(text ?? '') as { username?: unknown; password?: unknown };
    if (typeof json.username === 'string' && json.username && typeof json.password === 'string' && json.password) {
      return { username: json.username, password: json.password };
    }
  } catch {
    // falls through: not JSON
  }
  return undefined;
}
