/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The command ran and the answer is "no" (deployment failed, validation failed): exit code 1. */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
  /** The HTTP status when Coconut answered with an error. */
  readonly status?: number;
  constructor(message: string, status?: number) {
    super(message);
    if (status !== undefined) this.status = status;
  }
}
