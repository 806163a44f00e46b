/**
 * Domain errors. Handlers map them to HTTP status codes / Step Functions errors;
 * every message names what was wrong and what was expected.
 */
export class CoconutError extends Error {
  override name = 'CoconutError';
}

/** A coconut.yaml that cannot be read or does not match the schema. */
export class ConfigError extends CoconutError {
  override name = 'ConfigError';
  readonly file: string;
  readonly issues: ConfigIssue[];
  constructor(file: string, issues: ConfigIssue[]) {
    super(
      issues.length === 1
        ? formatIssue(file, issues[0] as ConfigIssue)
        : `${file} has ${issues.length} problems:\n${issues.map((i) => `  - ${formatIssue(file, i)}`).join('\n')}`,
    );
    this.file = file;
    this.issues = issues;
  }
}

export interface ConfigIssue {
  /** Path inside the document, e.g. `services[0].environments[1].bake`. */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

function formatIssue(file: string, issue: ConfigIssue): string {
  const where = issue.line ? `${file}:${issue.line}:${issue.column ?? 1}` : file;
  return `${where}: ${issue.path || '(document)'}: ${issue.message}`;
}

/** An incoming event or request that does not have the expected shape or values. */
export class InvalidInputError extends CoconutError {
  override name = 'InvalidInputError';
}

/** A state transition that the deployment model forbids (e.g. SUCCEEDED -> DEPLOYING). */
export class InvalidTransitionError extends CoconutError {
  override name = 'InvalidTransitionError';
}

export class NotFoundError extends CoconutError {
  override name = 'NotFoundError';
}

/** A decision that cannot be taken any more (approval already decided, expired, not allowed). */
export class ConflictError extends CoconutError {
  override name = 'ConflictError';
}

export class ForbiddenError extends CoconutError {
  override name = 'ForbiddenError';
}

/** More than one answer or request can carry (a Lambda payload is at most 6 MB each way). HTTP 413. */
export class TooLargeError extends CoconutError {
  override name = 'TooLargeError';
}

/**
 * The registry could not tell which digest a tag points to (unreachable, no such tag, access
 * refused): nothing is planned or started, and the message names the image and why. HTTP 502.
 */
export class DigestUnresolvedError extends CoconutError {
  override name = 'DigestUnresolvedError';
}

/** A task token that Step Functions no longer accepts (timed out, already used, unknown). */
export class TaskTokenExpiredError extends CoconutError {
  override name = 'TaskTokenExpiredError';
}
