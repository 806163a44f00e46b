/**
 * The Orchestrator port on Step Functions. The execution name is the idempotency key:
 * ExecutionAlreadyExists means a duplicate, which is success with nothing started.
 */
import {
  ExecutionAlreadyExists,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { TaskTokenExpiredError } from '../core/errors.ts';
import type { Orchestrator, StartResult, StateMachineName } from '../core/ports.ts';

export class SfnOrchestrator implements Orchestrator {
  private readonly sfn: SFNClient;
  private readonly machines: Record<StateMachineName, string | undefined>;

  constructor(sfn: SFNClient, machines: Partial<Record<StateMachineName, string>>) {
    this.sfn = sfn;
    this.machines = { deploy: machines.deploy, release: machines.release };
  }

  async startExecution(machine: StateMachineName, name: string, input: unknown): Promise<StartResult> {
    const stateMachineArn = this.machines[machine];
    if (!stateMachineArn) throw new Error(`no ARN configured for the ${machine} state machine`);
    const arn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    try {
      const res = await this.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      // Same name and same input while the first still runs: AWS answers success without a new run.
      return { executionArn: res.executionArn ?? arn, started: true };
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') {
        return { executionArn: arn, started: false };
      }
      throw Object.assign(
        new Error(`starting execution ${name} of ${stateMachineArn}: ${(error as Error).message}`, { cause: error }),
        {
          name: (error as Error).name,
        },
      );
    }
  }

  async sendTaskSuccess(token: string, output: unknown): Promise<void> {
    await this.task(() => this.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output ?? {}) })));
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<void> {
    // Step Functions limits: error 256 characters, cause 32,768.
    await this.task(() =>
      this.sfn.send(new SendTaskFailureCommand({ taskToken: token, error: error.slice(0, 256), cause: cause.slice(0, 32768) })),
    );
  }

  private async task(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      if (
        error instanceof TaskTimedOut ||
        error instanceof TaskDoesNotExist ||
        error instanceof InvalidToken ||
        ['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'].includes((error as Error).name)
      ) {
        throw new TaskTokenExpiredError(`the task no longer waits (${(error as Error).name})`);
      }
      throw error;
    }
  }
}
