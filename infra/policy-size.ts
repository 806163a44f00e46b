/**
 * IAM caps the inline policies of one role at 10,240 characters in all (IAM user guide, "IAM and
 * AWS STS quotas": "Role policy size"). One ARN per ECR repository fits a few dozen services; the
 * 1,000-service config would need ~60,000 characters and `sst deploy` would fail. So a list of
 * repository names is granted one by one while it fits its share, then by repository namespace
 * ("team/svc-1", "team/svc-2" -> "team/*"), and only when even that is too long, on every
 * repository of the account and Region: the widest grant, taken only at a scale where listing is
 * impossible (tag-based conditions would be the next step).
 */

/** The share of a role's 10,240 characters one list of resource ARNs may take (a role may hold two such lists). */
export const RESOURCE_LIST_BUDGET_CHARS = 3_000;
/** What `arn:aws:ecr:<region>:<account>:repository/` and JSON quoting add to each name, at most. */
const ARN_OVERHEAD_CHARS = 60;

const cost = (names: string[]) => names.reduce((n, name) => n + name.length + ARN_OVERHEAD_CHARS, 0);

/** Repository names (or patterns) to grant, within the budget. Pure: the patterns are IAM wildcards. */
export function compactRepositoryNames(names: string[], budget = RESOURCE_LIST_BUDGET_CHARS): string[] {
  const unique = [...new Set(names)].sort();
  if (cost(unique) <= budget) return unique;
  // By namespace: every repository under "team/" is granted as "team/*"; names without one stay.
  const grouped = [...new Set(unique.map((n) => (n.includes('/') ? `${n.slice(0, n.indexOf('/'))}/*` : n)))].sort();
  if (cost(grouped) <= budget) return grouped;
  return ['*'];
}
