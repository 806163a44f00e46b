/**
 * coconut.yaml loaded from a file (src/core/config/load.ts): `verify.cosign.key` naming a file
 * relative to coconut.yaml is read into the key itself, and a missing or non-key file is an error
 * naming the path in the configuration and the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/core/config/load.ts';
import { cosignKeys } from '../support/cosign.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'coconut-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const PEM = cosignKeys().publicPem;

function config(key: string): string {
  const file = path.join(dir, 'coconut.yaml');
  writeFileSync(
    file,
    `services:\n  - name: api\n    image: { registry: ghcr, repository: org/api }\n    target: { kind: helm }\n    environments: [{ name: staging }]\n    verify:\n      cosign: { key: ${key} }\n`,
  );
  return file;
}

describe('loadConfigFile: verify.cosign.key as a path', () => {
  it('reads the key file relative to coconut.yaml', async () => {
    writeFileSync(path.join(dir, 'cosign.pub'), PEM);
    const loaded = await loadConfigFile(config('cosign.pub'));
    expect(loaded.services[0]?.verify).toEqual({ cosign: { key: PEM } });
  });

  it('names the configuration path, line and file when the key cannot be read', async () => {
    const file = config('keys/missing.pub');
    await expect(loadConfigFile(file)).rejects.toThrow(
      `services[0].verify.cosign.key: cannot read the cosign public key keys/missing.pub (relative to ${file}): file not found`,
    );
    writeFileSync(path.join(dir, 'notakey.pub'), 'hello');
    await expect(loadConfigFile(config('notakey.pub'))).rejects.toThrow(
      'it holds no PEM public key ("-----BEGIN PUBLIC KEY-----")',
    );
  });
});
