/**
 * AWS errors that say which resource they concern. The SDK's own message names the API error
 * ("ResourceNotFoundException: ...") but rarely the table, machine or repository: these do.
 * Throttling keeps a recognisable name so that the state machine's Retry (Coconut.Retryable)
 * backs off once more after the SDK's own adaptive retries gave up.
 *
 * The throttling names: each is one the AWS SDK's own retry strategy treats as throttling
 * (THROTTLING_ERROR_CODES behind isThrottlingError in @smithy/core/retry, file
 * submodules/retry/service-error-classification/constants; test/unit/aws-errors.test.ts checks
 * each against it), and the DynamoDB Developer Guide, "Error handling with DynamoDB"
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html),
 * lists ThrottlingException, ProvisionedThroughputExceededException, RequestLimitExceeded and
 * LimitExceededException as 400 errors that are OK to retry. The others are the names the
 * non-DynamoDB services we call answer with (Throttling, TooManyRequestsException).
 */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);

export function isThrottling(error: unknown): boolean {
  return THROTTLING.has((error as { name?: string })?.name ?? '');
}

/** `what` names the resource, e.g. "Step Functions state machine arn:...". */
export function namedAwsError(what: string, error: unknown): Error {
  const e = error as Error;
  return Object.assign(new Error(`${what}: ${e.name}: ${e.message}`, { cause: error }), {
    name: isThrottling(error) ? 'Coconut.Retryable' : e.name,
  });
}

/** The SDK's error name, also for errors that crossed a serialization boundary. */
export function errorName(error: unknown): string {
  return (error as { name?: string })?.name ?? '';
}
