/**
 * A state machine definition (ASL) reduced to what a picture of it needs: states, their kind,
 * and the transitions between them with a short label. Parameters, ARNs and placeholders are
 * left out: the dashboard draws the machine, it does not need to know what the tasks call.
 */
import type { AslDefinition, AslState } from '../asl.ts';

export interface GraphEdge {
  to: string;
  kind: 'next' | 'default' | 'choice' | 'catch';
  /** Choice rule or caught errors, in a few words. */
  label?: string;
}

export interface GraphState {
  name: string;
  type: string;
  comment?: string;
  /** The service integration of a Task, e.g. "lambda:invoke.waitForTaskToken", "codebuild:startBuild.sync". */
  integration?: string;
  end: boolean;
  edges: GraphEdge[];
  /** A Map's item processor. */
  inner?: StateGraph;
}

export type { AslDefinition } from '../asl.ts';

export interface StateGraph {
  startAt: string;
  comment?: string;
  states: GraphState[];
}

const COMPARATORS: Record<string, string> = {
  BooleanEquals: '==',
  StringEquals: '==',
  NumericEquals: '==',
  NumericGreaterThan: '>',
  NumericLessThan: '<',
  NumericGreaterThanEquals: '>=',
  NumericLessThanEquals: '<=',
  IsPresent: 'present',
};

/** "$.lock.acquired == true" for a simple rule; the operator name otherwise. */
export function choiceLabel(rule: Record<string, unknown>): string {
  const variable = typeof rule.Variable === 'string' ? rule.Variable.replace(/^\$\./, '') : '';
  for (const [op, value] of Object.entries(rule)) {
    if (op === 'Variable' || op === 'Next') continue;
    if (op === 'IsPresent') return `${variable} ${value ? 'present' : 'absent'}`;
    const symbol = COMPARATORS[op];
    return symbol ? `${variable} ${symbol} ${JSON.stringify(value)}` : `${variable} ${op}`;
  }
  return variable;
}

export function stateGraph(definition: AslDefinition): StateGraph {
  const states = Object.entries(definition.States).map(([name, raw]) => {
    const s = raw as AslState;
    const edges: GraphEdge[] = [];
    if (s.Next) edges.push({ to: s.Next, kind: 'next' });
    for (const choice of s.Choices ?? []) edges.push({ to: choice.Next, kind: 'choice', label: choiceLabel(choice) });
    if (s.Default) edges.push({ to: s.Default, kind: 'default', label: 'otherwise' });
    for (const c of s.Catch ?? []) edges.push({ to: c.Next, kind: 'catch', label: c.ErrorEquals.join(', ') });
    const processor = s.ItemProcessor ?? s.Iterator;
    const state: GraphState = {
      name,
      type: s.Type,
      end: Boolean(s.End) || s.Type === 'Succeed' || s.Type === 'Fail',
      edges,
      ...(s.Comment ? { comment: s.Comment } : {}),
      ...(s.Resource?.startsWith('arn:aws:states:::') ? { integration: s.Resource.slice('arn:aws:states:::'.length) } : {}),
      ...(processor ? { inner: stateGraph(processor) } : {}),
    };
    return state;
  });
  return { startAt: definition.StartAt, ...(definition.Comment ? { comment: definition.Comment } : {}), states };
}
