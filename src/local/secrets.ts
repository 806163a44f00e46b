/**
 * Secrets of the local runtime, kept in <dataDir>/secrets.json (mode 0600):
 * - webhook secrets: COCONUT_GITHUB_WEBHOOK_SECRET / COCONUT_DOCKERHUB_TOKEN when set (the same
 *   variables as on AWS), otherwise random ones generated once, so that `coconut webhook` and a
 *   tunnelled GitHub webhook can use them;
 * - the operator token: COCONUT_OPERATOR_TOKEN when set, otherwise generated once. Every operator
 *   route of the local server wants it (docs/security.md, "The local server"); the CLI reads it
 *   from this file, the dashboard gets it once through the URL `coconut dev` prints.
 * Never logged: `coconut dev` prints them once, to the terminal only.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { WebhookSecrets } from '../core/handler-ports.ts';
import { writePrivateFile } from './private-files.ts';

export const SECRETS_FILE = 'secrets.json';
export const OPERATOR_TOKEN_ENV = 'COCONUT_OPERATOR_TOKEN';

export interface LocalSecrets {
  secrets: WebhookSecrets;
  file: string;
  /** Which secrets come from the file (and so were generated here at some point). */
  fromFile: (keyof WebhookSecrets)[];
}

type Stored = Record<string, unknown>;

function readStored(file: string): Stored {
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Stored;
  } catch {
    throw new Error(`${file} is not valid JSON: fix or delete it (new secrets are then generated)`);
  }
}

const text = (stored: Stored, key: string) =>
  typeof stored[key] === 'string' && stored[key] ? (stored[key] as string) : undefined;

/**
 * Returns the value under `key`, generating and writing it when absent. Other keys of the file
 * are kept as they are: the webhook secrets and the operator token share it.
 */
function storedSecret(file: string, key: string, generate: () => string): string {
  const stored = readStored(file);
  let value = text(stored, key);
  if (!value) {
    value = generate();
    stored[key] = value;
    writePrivateFile(file, `${JSON.stringify(stored, null, 2)}\n`);
  }
  chmodSync(file, 0o600);
  return value;
}

export function localSecrets(dataDir: string, env: NodeJS.ProcessEnv = process.env): LocalSecrets {
  const file = path.join(dataDir, SECRETS_FILE);
  const fromEnv: WebhookSecrets = {
    githubWebhookSecret: env.COCONUT_GITHUB_WEBHOOK_SECRET || undefined,
    dockerhubToken: env.COCONUT_DOCKERHUB_TOKEN || undefined,
  };
  const fromFile: (keyof WebhookSecrets)[] = [];
  const pick = (key: keyof WebhookSecrets, generate: () => string): string => {
    const set = fromEnv[key];
    if (set) return set;
    fromFile.push(key);
    return storedSecret(file, key, generate);
  };
  const secrets: WebhookSecrets = {
    githubWebhookSecret: pick('githubWebhookSecret', () => randomBytes(32).toString('hex')),
    // It travels in a URL path: URL-safe characters only.
    dockerhubToken: pick('dockerhubToken', () => randomBytes(24).toString('base64url')),
  };
  return { secrets, file, fromFile };
}

/**
 * The token that makes a request to the local server the operator's: COCONUT_OPERATOR_TOKEN, else
 * the one generated once into <dataDir>/secrets.json (32 random bytes, as Jupyter's token is).
 * URL-safe, since the dashboard receives it as `?token=` once.
 */
export function operatorToken(dataDir: string, env: NodeJS.ProcessEnv = process.env): { token: string; file?: string } {
  const set = env[OPERATOR_TOKEN_ENV];
  if (set) return { token: set };
  const file = path.join(dataDir, SECRETS_FILE);
  return { token: storedSecret(file, 'operatorToken', () => randomBytes(32).toString('base64url')), file };
}

/** The operator token the CLI sends to a local runtime: the env variable, else the data dir's file; never generated. */
export function readOperatorToken(dataDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[OPERATOR_TOKEN_ENV]) return env[OPERATOR_TOKEN_ENV];
  try {
    return text(readStored(path.join(dataDir, SECRETS_FILE)), 'operatorToken');
  } catch {
    return undefined;
  }
}
