/**
 * The local operator token (docs/security.md, "The local server"): generated once into
 * <dataDir>/secrets.json beside the webhook secrets, mode 0600, never lost when either is
 * generated later; the CLI reads it back and sends it to loopback only.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoopback } from '../../src/cli/client.ts';
import { mediaType } from '../../src/local/request-guard.ts';
import { localSecrets, operatorToken, readOperatorToken } from '../../src/local/secrets.ts';

const dir = () => mkdtempSync(path.join(tmpdir(), 'coconut-operator-'));

describe('Function: operatorToken', () => {
  it('generates 32 random bytes once (URL-safe), mode 0600, and keeps them beside the webhook secrets', () => {
    const d = dir();
    const first = operatorToken(d, {});
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(first.file as string).mode & 0o777).toBe(0o600);
    const webhooks = localSecrets(d, {});
    expect(operatorToken(d, {}).token).toBe(first.token);
    const stored = JSON.parse(readFileSync(webhooks.file, 'utf8'));
    expect(stored).toEqual({ operatorToken: first.token, ...webhooks.secrets });
    expect(readOperatorToken(d, {})).toBe(first.token);
  });

  it('takes COCONUT_OPERATOR_TOKEN when set, writing nothing; the CLI prefers it too', () => {
    const d = dir();
    expect(operatorToken(d, { COCONUT_OPERATOR_TOKEN: 'from-env' })).toEqual({ token: 'from-env' });
    expect(readOperatorToken(d, {})).toBeUndefined();
    expect(readOperatorToken(d, { COCONUT_OPERATOR_TOKEN: 'from-env' })).toBe('from-env');
  });

  it('is sent to loopback addresses only', () => {
    for (const url of ['http://127.0.0.1:4500', 'http://localhost:4500', 'http://[::1]:4500'])
      expect(isLoopback(new URL(url)), url).toBe(true);
    for (const url of ['https://coconut.example.com', 'http://127.0.0.1.nip.io:4500', 'http://10.0.0.1:4500'])
      expect(isLoopback(new URL(url)), url).toBe(false);
  });
});

describe('Function: mediaType', () => {
  // RFC 9110 §8.3.1: type and subtype are case-insensitive; parameters follow a semicolon.
  it('reads the media type without parameters, case-insensitively', () => {
    expect(mediaType('Application/JSON; charset=UTF-8')).toBe('application/json');
    expect(mediaType('text/plain;charset=UTF-8')).toBe('text/plain');
    expect(mediaType('')).toBeUndefined();
    expect(mediaType(undefined)).toBeUndefined();
  });
});
