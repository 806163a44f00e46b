import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeSfnHistory, SfnOrchestrator } from '../../src/aws/sfn-orchestrator.ts';

const sfn = mockClient(SFNClient);
const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:coconut-deploy';
const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

// Shapes as GetExecutionHistory returns them (includeExecutionData: false).
const events: HistoryEvent[] = [
  { id: 1, type: 'ExecutionStarted', timestamp: t(0) },
  { id: 2, previousEventId: 1, type: 'MapStateEntered', timestamp: t(0), stateEnteredEventDetails: { name: 'Environments' } },
  { id: 3, previousEventId: 2, type: 'MapStateStarted', timestamp: t(0) },
  {
    id: 4,
    previousEventId: 3,
    type: 'MapIterationStarted',
    timestamp: t(0),
    mapIterationStartedEventDetails: { name: 'Environments', index: 0 },
  },
  { id: 5, previousEventId: 4, type: 'TaskStateEntered', timestamp: t(1), stateEnteredEventDetails: { name: 'Deploy' } },
  { id: 6, previousEventId: 5, type: 'TaskScheduled', timestamp: t(1) },
  {
    id: 7,
    previousEventId: 6,
    type: 'TaskFailed',
    timestamp: t(9),
    taskFailedEventDetails: {
      resourceType: 'codebuild',
      resource: 'startBuild.sync',
      error: 'States.TaskFailed',
      cause: JSON.stringify({
        Build: {
          Id: 'coconut-helm-deploy:42',
          BuildStatus: 'FAILED',
          Environment: { EnvironmentVariables: [{ Name: 'X', Value: 'secret-ish' }] },
        },
      }),
    },
  },
  { id: 8, previousEventId: 7, type: 'TaskStateEntered', timestamp: t(9), stateEnteredEventDetails: { name: 'PrepareRollback' } },
  { id: 9, previousEventId: 8, type: 'TaskStateExited', timestamp: t(10), stateExitedEventDetails: { name: 'PrepareRollback' } },
  {
    id: 10,
    previousEventId: 9,
    type: 'FailStateEntered',
    timestamp: t(11),
    stateEnteredEventDetails: { name: 'EnvironmentFailed' },
  },
  {
    id: 11,
    previousEventId: 10,
    type: 'MapIterationFailed',
    timestamp: t(11),
    mapIterationFailedEventDetails: { name: 'Environments', index: 0 },
  },
  {
    id: 12,
    previousEventId: 11,
    type: 'ExecutionFailed',
    timestamp: t(12),
    executionFailedEventDetails: { error: 'Coconut.RolledBack', cause: 'api 2.0.0 on staging: rolled back to 1.0.0' },
  },
];

describe('Class: SfnOrchestrator > history', () => {
  afterEach(() => sfn.reset());

  it('normalizes Step Functions events: states per Map iteration, failures summarized', () => {
    const out = normalizeSfnHistory(events);
    expect(out.map((e) => `${e.type}:${e.state ?? ''}:${e.iteration ?? ''}`)).toEqual([
      'ExecutionStarted::',
      'StateEntered:Environments:',
      'IterationStarted::0',
      'StateEntered:Deploy:0',
      'StateFailed:Deploy:0',
      'StateEntered:PrepareRollback:0',
      'StateExited:PrepareRollback:0',
      'StateEntered:EnvironmentFailed:0',
      'IterationFailed::0',
      'ExecutionFailed::',
    ]);
    const failed = out.find((e) => e.type === 'StateFailed');
    // The build's details (its environment) never leave: only the one-line summary.
    expect(failed?.cause).toBe('step build coconut-helm-deploy:42 failed');
    expect(JSON.stringify(out)).not.toContain('secret-ish');
    expect(out.at(-1)).toMatchObject({ error: 'Coconut.RolledBack', cause: 'api 2.0.0 on staging: rolled back to 1.0.0' });
  });

  it('reads the whole history without execution data, page by page', async () => {
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:dep-1`,
      stateMachineArn: MACHINE,
      status: 'FAILED',
      startDate: t(0),
      stopDate: t(12),
      error: 'Coconut.RolledBack',
      cause: 'api 2.0.0 on staging: rolled back to 1.0.0',
    });
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: events.slice(0, 6), nextToken: 'page-2' })
      .resolvesOnce({ events: events.slice(6) });
    const history = await new SfnOrchestrator(new SFNClient({}), { deploy: MACHINE }).history('dep-1');
    expect(history).toMatchObject({
      name: 'dep-1',
      status: 'FAILED',
      error: 'Coconut.RolledBack',
      startedAt: t(0).toISOString(),
    });
    expect(history?.events).toHaveLength(10);
    const calls = sfn.commandCalls(GetExecutionHistoryCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([
      {
        executionArn: 'arn:aws:states:us-east-1:123456789012:execution:coconut-deploy:dep-1',
        includeExecutionData: false,
        maxResults: 1000,
        nextToken: undefined,
      },
      {
        executionArn: 'arn:aws:states:us-east-1:123456789012:execution:coconut-deploy:dep-1',
        includeExecutionData: false,
        maxResults: 1000,
        nextToken: 'page-2',
      },
    ]);
  });

  it('answers undefined for an execution that does not exist', async () => {
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'no', $metadata: {} }));
    expect(await new SfnOrchestrator(new SFNClient({}), { deploy: MACHINE }).history('nope')).toBeUndefined();
  });
});
