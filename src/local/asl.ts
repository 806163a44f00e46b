/**
 * Loading state machine files for the local runtime: read the ASL, substitute the same
 * ${Placeholders} that infra/ substitutes on AWS (with local values), and list Task states.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { StateMachineName } from '../core/ports.ts';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'local';

export function localFunctionArn(name: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;
}

const PROJECT_ROOT = path.resolve(import.meta.dirname, '..', '..');

/**
 * ${<Name>Buildspec}: the text of templates/buildspec/<name>.yml as the inside of a JSON string,
 * for a build whose source is not ours (BuildspecOverride). infra/ substitutes the same value.
 */
export function buildspecPlaceholder(name: string, root = PROJECT_ROOT): string {
  return JSON.stringify(readFileSync(path.join(root, 'templates', 'buildspec', `${name}.yml`), 'utf8')).slice(1, -1);
}

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

/** Replaces every ${Name}; a placeholder without a value is an error, never left in place. */
export function substitute(text: string, values: Record<string, string>, file: string): string {
  return text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${file}: no value for placeholder \${${name}}`);
    return value;
  });
}

export function placeholdersIn(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] as string))];
}

export async function loadStateMachine(
  root: string,
  name: StateMachineName,
  values = localSubstitutions(root),
): Promise<StateDefinition> {
  const file = path.join(root, 'stepfunctions', `${name}.asl.json`);
  return JSON.parse(substitute(await readFile(file, 'utf8'), values, file)) as StateDefinition;
}

export interface StateDefinition {
  StartAt: string;
  States: Record<string, StateNode>;
  [key: string]: unknown;
}

export interface StateNode {
  Type: string;
  Resource?: string;
  ItemProcessor?: StateDefinition;
  Iterator?: StateDefinition;
  Branches?: StateDefinition[];
  [key: string]: unknown;
}

/** Every Task state by name, including those inside Map and Parallel states. */
export function taskStates(definition: StateDefinition): Map<string, StateNode> {
  const found = new Map<string, StateNode>();
  const walk = (def: StateDefinition) => {
    for (const [name, state] of Object.entries(def.States)) {
      if (state.Type === 'Task') found.set(name, state);
      const nested = [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])].filter(Boolean) as StateDefinition[];
      nested.forEach(walk);
    }
  };
  walk(definition);
  return found;
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
export function adaptTimeoutPaths(definition: StateDefinition): StateDefinition {
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
