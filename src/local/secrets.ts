/**
 * Webhook secrets of the local runtime: COCONUT_GITHUB_WEBHOOK_SECRET / COCONUT_DOCKERHUB_TOKEN
 * when set (the same variables as on AWS), otherwise random ones generated once and kept in
 * <dataDir>/secrets.json (mode 0600), so that `coconut webhook` and a tunnelled GitHub webhook
 * can use them. Never logged: `coconut dev` prints them once, to the terminal only.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { WebhookSecrets } from '../../functions/commons/ports.ts';
import { writePrivateFile } from './private-files.ts';

export const SECRETS_FILE = 'secrets.json';

export interface LocalSecrets {
  secrets: WebhookSecrets;
  file: string;
  /** Which secrets come from the file (and so were generated here at some point). */
  fromFile: (keyof WebhookSecrets)[];
}

function readFile(file: string): WebhookSecrets {
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const value = (k: string) => (typeof parsed[k] === 'string' && parsed[k] ? (parsed[k] as string) : undefined);
    return { githubWebhookSecret: value('githubWebhookSecret'), dockerhubToken: value('dockerhubToken') };
  } catch {
    throw new Error(`${file} is not valid JSON: fix or delete it (new secrets are then generated)`);
  }
}

export function localSecrets(dataDir: string, env: NodeJS.ProcessEnv = process.env): LocalSecrets {
  const file = path.join(dataDir, SECRETS_FILE);
  const stored = readFile(file);
  const fromEnv: WebhookSecrets = {
    githubWebhookSecret: env.COCONUT_GITHUB_WEBHOOK_SECRET || undefined,
    dockerhubToken: env.COCONUT_DOCKERHUB_TOKEN || undefined,
  };
  const fromFile: (keyof WebhookSecrets)[] = [];
  let changed = false;
  const pick = (key: keyof WebhookSecrets, generate: () => string): string => {
    const set = fromEnv[key];
    if (set) return set;
    fromFile.push(key);
    if (!stored[key]) {
      stored[key] = generate();
      changed = true;
    }
    return stored[key] as string;
  };
  const secrets: WebhookSecrets = {
    githubWebhookSecret: pick('githubWebhookSecret', () => randomBytes(32).toString('hex')),
    // It travels in a URL path: URL-safe characters only.
    dockerhubToken: pick('dockerhubToken', () => randomBytes(24).toString('base64url')),
  };
  if (changed) writePrivateFile(file, `${JSON.stringify(stored, null, 2)}\n`);
  if (existsSync(file)) chmodSync(file, 0o600);
  return { secrets, file, fromFile };
}
