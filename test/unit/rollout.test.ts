import { describe, expect, it } from 'vitest';
import { rolloutSteps, stepLabel } from '../../src/core/pipeline/rollout.ts';

describe('rolloutSteps: cumulative percentages ending at 100', () => {
  it('is one step of 100 without a rollout (all at once)', () => {
    expect(rolloutSteps(undefined)).toEqual([100]);
  });

  it("lists a canary's steps, then 100", () => {
    expect(rolloutSteps({ strategy: 'canary', steps: [10, 50] })).toEqual([10, 50, 100]);
    expect(rolloutSteps({ strategy: 'canary', steps: [5] })).toEqual([5, 100]);
  });

  it('cuts a linear rollout into equal steps, the last one reaching 100', () => {
    expect(rolloutSteps({ strategy: 'linear', stepPercent: 25 })).toEqual([25, 50, 75, 100]);
    expect(rolloutSteps({ strategy: 'linear', stepPercent: 30 })).toEqual([30, 60, 90, 100]);
    expect(rolloutSteps({ strategy: 'linear', stepPercent: 50 })).toEqual([50, 100]);
  });

  it('labels a step with its strategy', () => {
    expect(stepLabel('canary', 10)).toBe('canary 10%');
    expect(stepLabel(undefined, 100)).toBe('100%');
  });
});
