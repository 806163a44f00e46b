/**
 * IAM's role policy size (10,240 characters for all inline policies of a role: IAM user guide,
 * "IAM and AWS STS quotas") against one ARN per ECR repository: lists are compacted at scale.
 * The whole app at 1,000 services is checked in sst-evaluation.test.ts (rolePolicySizeProblems).
 */
import { describe, expect, it } from 'vitest';
import { compactRepositoryNames, RESOURCE_LIST_BUDGET_CHARS } from '../../infra/policy-size.ts';

describe('compactRepositoryNames', () => {
  it('lists each repository while the list fits (least privilege)', () => {
    expect(compactRepositoryNames(['web', 'team/api', 'web'])).toEqual(['team/api', 'web']);
  });

  it('groups a large config by namespace: team/svc-0..999 -> team/*, names without one stay', () => {
    const names = [...Array.from({ length: 1000 }, (_, i) => `team/svc-${i}`), 'solo'];
    expect(compactRepositoryNames(names)).toEqual(['solo', 'team/*']);
  });

  it('falls back to every repository only when even the namespaces do not fit', () => {
    const names = Array.from({ length: 1000 }, (_, i) => `repo-${i}`);
    expect(compactRepositoryNames(names)).toEqual(['*']);
    // Just inside the budget: still listed one by one.
    const few = Array.from({ length: Math.floor(RESOURCE_LIST_BUDGET_CHARS / 70) }, (_, i) => `r-${i}`);
    expect(compactRepositoryNames(few)).toHaveLength(few.length);
  });
});
