/**
 * Reading coconut.yaml (src/core/config/load.ts): every error names the file, the path inside it,
 * the line and column and what was expected; a loaded file can say where each value was written.
 * The broader schema cases are in config.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile, loadConfigWithPositions, parseConfig, parseConfigWithPositions } from '../../src/core/config/load.ts';
import { ConfigError } from '../../src/core/model/errors.ts';
import { cosignKeys } from '../support/cosign.ts';

const VALID = `services:
  - name: api
    image: &image
      registry: ecr
      repository: api
    target: { kind: helm }
    environments:
      - name: staging
        alarms: [api-5xx, api-latency]
      - name: prod
  - name: web
    image: *image
    target: { kind: helm }
    environments: [{ name: prod }]
`;

function issuesOf(text: string, file?: string): ConfigError {
  try {
    if (file === undefined) parseConfigWithPositions(text);
    else parseConfig(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected the config to be rejected');
}

describe('Function: parseConfigWithPositions', () => {
  it('says where each value was written, through sequences, maps and aliases', () => {
    const located = parseConfigWithPositions(VALID);
    expect(located.file).toBe('coconut.yaml');
    expect(located.config.services.map((s) => s.image.repository)).toEqual(['api', 'api']);
    expect(located.positionOf(['services', 0, 'environments', 0, 'alarms', 1])).toEqual({ line: 9, column: 27 });
    expect(located.positionOf(['services', 0, 'image', 'repository'])).toEqual({ line: 5, column: 19 });
    // An alias stands for its anchor: the position is the alias's.
    expect(located.positionOf(['services', 1, 'image', 'repository'])).toEqual({ line: 12, column: 12 });
    // A value that came from a default: its nearest written parent.
    expect(located.positionOf(['services', 0, 'environments', 1, 'alarms', 0])).toEqual({ line: 10, column: 9 });
    expect(located.positionOf(['services', 0, 'target', 'namespace'])).toEqual({ line: 6, column: 13 });
    expect(located.positionOf([])).toEqual({ line: 1, column: 1 });
  });

  it('names coconut.yaml when no file is given', () => {
    expect(issuesOf('services: []\n').message).toBe('coconut.yaml:1:11: services: expected at least one service');
    expect(() => parseConfig('services: []\n')).toThrow('coconut.yaml:1:11: services: expected at least one service');
  });

  it('reports invalid YAML by the first line of each parser message, with its line and column', () => {
    const error = issuesOf('services:\n  - name: a\n  - name: a\n    name: b\n', 'c.yaml');
    expect(error.issues).toEqual([
      { path: '', message: 'invalid YAML: Map keys must be unique at line 4, column 5:', line: 4, column: 5 },
    ]);
    expect(error.message).toBe('c.yaml:4:5: (document): invalid YAML: Map keys must be unique at line 4, column 5:');
  });

  it('an alias without its anchor is invalid YAML of the file, not a crash', () => {
    expect(issuesOf('services: *services\n', 'c.yaml').message).toBe(
      'c.yaml: (document): invalid YAML: Unresolved alias (the anchor must be set before the alias): services',
    );
  });

  it('an empty file is a configuration without services, said as a missing required key', () => {
    const error = issuesOf('', 'empty.yaml');
    expect(error.issues).toEqual([{ path: 'services', message: 'required: expected array', line: undefined, column: undefined }]);
  });

  it('lists every unknown key of an object in one issue, at the object', () => {
    const error = issuesOf(
      VALID.replace('      - name: prod\n', '      - name: prod\n        bakee: 1m\n        alarm: [x]\n'),
      'c.yaml',
    );
    expect(error.issues).toEqual([
      {
        path: 'services[0].environments[1]',
        message: 'unknown keys "bakee", "alarm" (check the spelling; see `coconut schema`)',
        line: 10,
        column: 9,
      },
    ]);
  });

  it('a value of the wrong type is said as the schema says it, not as missing', () => {
    const error = issuesOf(VALID.replace('alarms: [api-5xx, api-latency]', 'alarms: api-5xx'), 'c.yaml');
    expect(error.issues).toEqual([
      {
        path: 'services[0].environments[0].alarms',
        message: 'Invalid input: expected array, received string',
        line: 9,
        column: 17,
      },
    ]);
  });
});

describe('Function: loadConfigWithPositions', () => {
  it('reads a file and keeps its name', async () => {
    const located = await loadConfigWithPositions('examples/demo/coconut.yaml');
    expect(located.file).toBe('examples/demo/coconut.yaml');
    expect(located.positionOf(['services', 0, 'name'])?.line).toBeGreaterThan(0);
  });

  it('says why a path cannot be read when it exists but is not a file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'coconut-load-'));
    try {
      await expect(loadConfigWithPositions(dir)).rejects.toThrow(
        `${dir}: (document): cannot read the configuration: Error: EISDIR: illegal operation on a directory, read`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The signed-image gate (issue 16): a cosign key given as a path.
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
