/**
 * Does an identity policy allow an action on a resource? The matching rules are IAM's own, as
 * the IAM User Guide states them (not ours):
 * - Action: "service:Action", prefix and name case-insensitive, `*` and `?` wildcards
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
 * - Resource: an ARN matched segment by segment, case-sensitive; `*` is any run of characters and
 *   `?` any one character inside a segment, the last segment (resource) taking the rest of the ARN
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html and
 *   ArnLike in https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN).
 * - Only Allow statements are produced by infra/; no Deny, no NotAction, no conditions to evaluate.
 */
export interface Grant {
  actions: string[];
  resources: string[];
}

function glob(pattern: string, value: string, caseInsensitive = false): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, caseInsensitive ? 'is' : 's').test(value);
}

function arnParts(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

export function resourceMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const p = arnParts(pattern);
  const a = arnParts(arn);
  if (!p || !a) return false;
  return p.every((segment, i) => glob(segment, a[i] as string));
}

export function actionMatches(pattern: string, action: string): boolean {
  return glob(pattern, action, true);
}

/** The statements allow `action` on `resource` ("*" for actions without resource-level permission). */
export function allows(grants: Grant[], action: string, resource: string): boolean {
  return grants.some(
    (g) => g.actions.some((a) => actionMatches(a, action)) && g.resources.some((r) => resourceMatches(r, resource)),
  );
}
