import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AslDefinition } from '../../src/core/asl.ts';
import { LocalEngine } from '../../src/local/engine.ts';
import { memoryLog } from '../support/runtime.ts';

// A callback task whose function fails its own token before returning (as startBake does when
// an alarm already fires) must fail the task, not crash the process with an unhandled rejection.
describe('LocalEngine: waitForTaskToken', () => {
  it('lets the invoked function settle its own token before it returns', async () => {
    const definition: AslDefinition = {
      StartAt: 'Wait',
      States: {
        Wait: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: {
            FunctionName: 'arn:aws:lambda:local:000000000000:function:self',
            Payload: { 'token.$': '$$.Task.Token' },
          },
          TimeoutSeconds: 5,
          Catch: [{ ErrorEquals: ['Coconut.AlarmFired'], ResultPath: '$.failure', Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
    };
    let engine: LocalEngine;
    engine = new LocalEngine({
      definitions: { deploy: definition },
      functions: {
        self: async (event) => {
          await engine.sendTaskFailure((event as { token: string }).token, 'Coconut.AlarmFired', 'health');
          await new Promise((r) => setTimeout(r, 20));
          return {};
        },
      },
      builds: { run: async () => ({}) },
      dataDir: mkdtempSync(path.join(tmpdir(), 'coconut-engine-')),
      log: memoryLog(),
    });
    await engine.startExecution('deploy', 'early', {});
    const record = await engine.waitFor('early');
    expect(record?.status).toBe('SUCCEEDED');
    expect(record?.output).toMatchObject({ failure: { Error: 'Coconut.AlarmFired', Cause: 'health' } });
  });
});
