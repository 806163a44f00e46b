import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { type AslDefinition, buildspecPlaceholder, placeholdersIn, substitute, taskStates } from '../../src/core/asl.ts';
import { walk } from '../../src/core/cost/model.ts';
import { adaptTimeoutPaths, LOCAL_NO_TIMEOUT_SECONDS, localSubstitutions } from '../../src/local/asl.ts';

const files = readdirSync('stepfunctions').filter((f) => f.endsWith('.asl.json'));

describe('State machine definitions', () => {
  it.each(files)('%s is valid ASL (asl-validator), with and without substitutions', (file) => {
    const text = readFileSync(`stepfunctions/${file}`, 'utf8');
    const raw = aslValidator(JSON.parse(text), { checkArn: true, checkPaths: true });
    expect(raw.errors).toEqual([]);
    const local = aslValidator(JSON.parse(substitute(text, localSubstitutions(), file)), { checkArn: true, checkPaths: true });
    expect(local.isValid).toBe(true);
  });

  it.each(files)('%s uses JSONPath only (no JSONata)', (file) => {
    const def = JSON.parse(readFileSync(`stepfunctions/${file}`, 'utf8'));
    expect(def.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(readFileSync(`stepfunctions/${file}`, 'utf8')).not.toContain('{%');
  });

  it('has a local value for every placeholder', () => {
    for (const file of files) {
      for (const name of placeholdersIn(readFileSync(`stepfunctions/${file}`, 'utf8')))
        expect(localSubstitutions()).toHaveProperty(name);
    }
  });

  it('refuses to leave a placeholder without a value', () => {
    const placeholder = ['$', '{Nope}'].join('');
    expect(() => substitute(`{"a": "${placeholder}"}`, {}, 'x.json')).toThrow(`x.json: no value for placeholder ${placeholder}`);
  });

  it('gives every callback task a timeout, as a token wait has none by default', () => {
    const def = JSON.parse(readFileSync('stepfunctions/deploy.asl.json', 'utf8'));
    for (const [name, state] of taskStates(def)) {
      if (String(state.Resource).endsWith('.waitForTaskToken')) {
        expect(state.TimeoutSeconds ?? state.TimeoutSecondsPath, name).toBeDefined();
      }
    }
    // And the local engine can evaluate those timeouts from the task's parameters.
    const adapted = taskStates(adaptTimeoutPaths(def));
    expect(adapted.get('Bake')?.TimeoutSecondsPath).toBe('$.Payload.bakeSeconds');
    expect(adapted.get('RequestApproval')?.TimeoutSecondsPath).toBe('$.Payload.timeoutSeconds');
    expect(adapted.get('AcquireLock')?.TimeoutSecondsPath).toBe('$.Payload.holdSeconds');
  });

  it("gives tasks without a timeout none locally either (not aws-local-stepfunctions' 60 s default)", () => {
    // Step Functions sets no timeout by default (developer guide, "Use timeouts to avoid stuck
    // executions"); aws-local-stepfunctions' TaskStateAction uses DEFAULT_TIMEOUT_SECONDS = 60.
    const library = readFileSync('node_modules/aws-local-stepfunctions/build/main.node.cjs', 'utf8');
    expect(library).toMatch(/DEFAULT_TIMEOUT_SECONDS = 60;/);
    const def = JSON.parse(readFileSync('stepfunctions/deploy.asl.json', 'utf8'));
    const original = taskStates(def);
    const adapted = taskStates(adaptTimeoutPaths(def));
    expect(original.get('RecordBaking')?.TimeoutSeconds).toBeUndefined();
    expect(adapted.get('RecordBaking')?.TimeoutSeconds).toBe(LOCAL_NO_TIMEOUT_SECONDS);
    // The longest timer Node can set: longer ones fire at once.
    expect(LOCAL_NO_TIMEOUT_SECONDS * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
    // Timeouts the definition sets are kept.
    expect(adapted.get('Deploy')?.TimeoutSeconds).toBe(original.get('Deploy')?.TimeoutSeconds);
    expect(adapted.get('Bake')?.TimeoutSeconds).toBeUndefined();
  });

  it('never lets an environment fail without releasing its lock', () => {
    const def = JSON.parse(readFileSync('stepfunctions/deploy.asl.json', 'utf8'));
    const states = def.States.Environments.ItemProcessor.States as Record<
      string,
      { Type: string; Next?: string; Catch?: { Next: string }[]; Default?: string; Choices?: { Next: string }[] }
    >;
    // Every path into the Fail state goes through ReleaseLockAfterFailure.
    const into = Object.entries(states).filter(
      ([, s]) => s.Next === 'EnvironmentFailed' || s.Catch?.some((c) => c.Next === 'EnvironmentFailed'),
    );
    expect(into.map(([n]) => n)).toEqual(['ReleaseLockAfterFailure']);
    // Every Task either catches everything or is the lock release itself.
    for (const [name, s] of Object.entries(states)) {
      if (s.Type !== 'Task' || name === 'ReleaseLock') continue;
      expect(
        s.Catch?.some((c) => (c as unknown as { ErrorEquals: string[] }).ErrorEquals.includes('States.ALL')),
        name,
      ).toBe(true);
    }
  });
});

describe('Module: src/core/asl.ts', () => {
  it('replaces every placeholder, each as often as it occurs, and leaves other dollar text alone', () => {
    const text = [
      '{"a": "$',
      '{Arn_1}", "b": "$',
      '{Arn_1}", "c": "$',
      '{Other}", "d": "$.path", "e": "$',
      '{not-a-name}"}',
    ].join('');
    expect(substitute(text, { Arn_1: 'arn:one', Other: 'two' }, 'x.json')).toBe(
      ['{"a": "arn:one", "b": "arn:one", "c": "two", "d": "$.path", "e": "$', '{not-a-name}"}'].join(''),
    );
    expect(placeholdersIn(text)).toEqual(['Arn_1', 'Other']);
    expect(placeholdersIn('no placeholder')).toEqual([]);
  });

  it('finds the Task states inside Map (ItemProcessor and the older Iterator) and Parallel branches', () => {
    const task = (next?: string) => ({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      ...(next ? { Next: next } : { End: true }),
    });
    const definition: AslDefinition = {
      StartAt: 'Top',
      States: {
        Top: task('Map'),
        Map: {
          Type: 'Map',
          ItemProcessor: { StartAt: 'InMap', States: { InMap: task(), Pass: { Type: 'Pass', End: true } } },
          Next: 'Old',
        },
        Old: { Type: 'Map', Iterator: { StartAt: 'InIterator', States: { InIterator: task() } }, Next: 'Both' },
        Both: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'Left', States: { Left: task() } },
            { StartAt: 'Right', States: { Right: task() } },
          ],
          End: true,
        },
      },
    };
    const found = taskStates(definition);
    expect([...found.keys()]).toEqual(['Top', 'InMap', 'InIterator', 'Left', 'Right']);
    const inMap = (definition.States.Map as { ItemProcessor: AslDefinition }).ItemProcessor.States.InMap;
    expect(found.get('InMap')).toBe(inMap);
  });

  it('gives a buildspec as the inside of a JSON string, from the root it is given', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'coconut-asl-'));
    try {
      mkdirSync(path.join(root, 'templates', 'buildspec'), { recursive: true });
      writeFileSync(
        path.join(root, 'templates', 'buildspec', 'demo.yml'),
        'version: 0.2\nphases:\n  build: { commands: ["echo \\"hi\\""] }\n',
      );
      const inside = buildspecPlaceholder('demo', root);
      expect(JSON.parse(`"${inside}"`)).toBe('version: 0.2\nphases:\n  build: { commands: ["echo \\"hi\\""] }\n');
      expect(inside.startsWith('version')).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    // The default root is the project's: its own buildspecs.
    expect(JSON.parse(`"${buildspecPlaceholder('build-image')}"`)).toBe(
      readFileSync('templates/buildspec/build-image.yml', 'utf8'),
    );
  });
});

describe('deploy.asl.json: the signed-image gate (verify:)', () => {
  const inner = JSON.parse(readFileSync('stepfunctions/deploy.asl.json', 'utf8')).States.Environments.ItemProcessor;
  const happy = { bakeSeconds: 300 };
  const path = (env: Record<string, unknown>, results: Record<string, unknown> = {}) =>
    walk(inner, {
      input: { env: { ...happy, ...env }, alarmCheck: { breached: false }, ...results },
      errors: { Bake: 'States.Timeout' },
    }).states;

  it('checks signatures after the scan and before approval, and not at all without verify:', () => {
    const verify = { cosign: { key: 'PEM' } };
    expect(path({ verify }, { signatureGate: { passed: true } }).slice(0, 6)).toEqual([
      'FreezeWindows?',
      'AcquireLock',
      'NeedsScan?',
      'SignatureGate',
      'SignaturePassed?',
      'NeedsApproval?',
    ]);
    const both = path({ verify, scan: { maxSeverity: 'HIGH' } }, { scanGate: { passed: true }, signatureGate: { passed: true } });
    expect(both.slice(2, 9)).toEqual([
      'NeedsScan?',
      'ScanGate',
      'ScanPassed?',
      'NeedsSignature?',
      'SignatureGate',
      'SignaturePassed?',
      'NeedsApproval?',
    ]);
    expect(path({})).not.toContain('SignatureGate');
    expect(path({ scan: { maxSeverity: 'HIGH' } }, { scanGate: { passed: true } })).not.toContain('SignatureGate');
  });

  it('stops a refused image before anything is deployed, releasing the lock', () => {
    const stopped = path({ verify: { cosign: { key: 'PEM' } } }, { signatureGate: { passed: false } });
    expect(stopped.slice(3, 7)).toEqual(['SignatureGate', 'SignaturePassed?', 'SignatureBlocked', 'ReleaseLockAfterFailure']);
    expect(stopped).not.toContain('Deploy');
    expect(stopped).not.toContain('RequestApproval');
  });
});
