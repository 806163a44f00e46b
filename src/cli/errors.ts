/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The command ran and the answer is "no" (deployment failed, validation failed): exit code 1. */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
}
