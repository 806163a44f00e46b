// Types of graph.js for the TypeScript tests (the page itself runs the plain JS).
import type { StateGraph } from '../../src/core/read-models/state-machine-graph.ts';

export const NODE_W: number;
export const NODE_H: number;
export function layout(graph: StateGraph | undefined): {
  positions: Map<string, { x: number; y: number; rank: number }>;
  width: number;
  height: number;
  back: Set<string>;
};
export function statesOf(
  events: { type: string; state?: string; iteration?: number; error?: string; at: string }[] | undefined,
  iteration: number,
  running: boolean,
): { status: Map<string, 'active' | 'done' | 'failed' | 'stopped'>; taken: Set<string> };
export function renderGraph(graph: StateGraph, state?: { status?: Map<string, string>; taken?: Set<string> }): SVGSVGElement;
