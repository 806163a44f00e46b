/**
 * Loading state machine files for the local runtime: read the ASL and substitute the same
 * ${Placeholders} that infra/ substitutes on AWS, with local values (src/core/asl.ts holds the
 * ASL types and the substitution both use), and adapt timeouts to aws-local-stepfunctions.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type AslDefinition, buildspecPlaceholder, substitute, taskStates } from '../core/asl.ts';
import type { StateMachineName } from '../core/ports.ts';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'local';

export function localFunctionArn(name: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;
}

const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The placeholder values of the local runtime; infra/ provides the AWS ones for the same names. */
export function localSubstitutions(root = PROJECT_ROOT): Record<string, string> {
  return {
    PipelineStepFunctionArn: localFunctionArn('pipeline-step'),
    RequestApprovalFunctionArn: localFunctionArn('request-approval'),
    BuildProjectPrefix: 'coconut',
    DeployStateMachineArn: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:coconut-deploy`,
    BuildImageBuildspec: buildspecPlaceholder('build-image', root),
  };
}

export async function loadStateMachine(
  root: string,
  name: StateMachineName,
  values = localSubstitutions(root),
): Promise<AslDefinition> {
  const file = path.join(root, 'stepfunctions', `${name}.asl.json`);
  return JSON.parse(substitute(await readFile(file, 'utf8'), values, file)) as AslDefinition;
}

/**
 * Without TimeoutSeconds, aws-local-stepfunctions fails a task after 60 s
 * (node_modules/aws-local-stepfunctions, TaskStateAction: DEFAULT_TIMEOUT_SECONDS = 60), while
 * Step Functions sets no timeout ("By default, the Amazon States Language doesn't set timeouts",
 * AWS Step Functions developer guide, "Use timeouts to avoid stuck executions"; a Lambda task
 * ends with the function's own timeout). Locally such a task gets the longest timer Node
 * can set (2^31 - 1 ms, about 24.8 days) instead: a step that is merely slow on a busy machine
 * must not fail locally when it would not on AWS.
 */
export const LOCAL_NO_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * aws-local-stepfunctions evaluates TimeoutSecondsPath against the task's input *after*
 * Parameters, while Step Functions reads it from the state input. Where the same path is also
 * passed in Parameters (as our approval and bake tasks do), point the local copy at that
 * parameter, so that one ASL file behaves the same in both places. Tasks with no timeout get
 * LOCAL_NO_TIMEOUT_SECONDS.
 */
export function adaptTimeoutPaths(definition: AslDefinition): AslDefinition {
  const copy = structuredClone(definition);
  for (const [name, state] of taskStates(copy)) {
    const timeoutPath = state.TimeoutSecondsPath;
    if (state.TimeoutSeconds === undefined && timeoutPath === undefined) state.TimeoutSeconds = LOCAL_NO_TIMEOUT_SECONDS;
    if (typeof timeoutPath !== 'string') continue;
    const found = findParameter(state.Parameters, timeoutPath, '$');
    if (!found) {
      throw new Error(`${name}: TimeoutSecondsPath ${timeoutPath} must also be passed in Parameters for the local runtime`);
    }
    state.TimeoutSecondsPath = found;
  }
  return copy;
}

function findParameter(params: unknown, target: string, at: string): string | undefined {
  if (!params || typeof params !== 'object') return undefined;
  for (const [key, value] of Object.entries(params)) {
    if (key.endsWith('.$') && value === target) return `${at}.${key.slice(0, -2)}`;
    const nested = findParameter(value, target, `${at}.${key}`);
    if (nested) return nested;
  }
  return undefined;
}
