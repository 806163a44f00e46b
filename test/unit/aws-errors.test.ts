/**
 * aws/errors.ts against the AWS SDK's own rule: every name Coconut treats as throttling is one the
 * SDK's retry strategy classes as throttling (isThrottlingError, @smithy/core/retry), so the state
 * machine only backs off once more on what the SDK itself already backed off on.
 */
import { isThrottlingError } from '@smithy/core/retry';
import { describe, expect, it } from 'vitest';
import { errorName, isThrottling, namedAwsError } from '../../src/aws/errors.ts';
import { THROTTLING_ERROR_NAMES } from '../support/stores.ts';

const named = (name: string) => Object.assign(new Error('Rate exceeded'), { name });

describe('aws/errors', () => {
  it('treats each throttling name as throttling, as the AWS SDK does', () => {
    for (const name of THROTTLING_ERROR_NAMES) {
      expect(isThrottlingError(named(name) as never), `SDK: ${name}`).toBe(true);
      expect(isThrottling(named(name)), name).toBe(true);
      expect(namedAwsError('DynamoDB table t, deployment d', named(name))).toMatchObject({
        name: 'Coconut.Retryable',
        message: `DynamoDB table t, deployment d: ${name}: Rate exceeded`,
      });
    }
  });

  it('keeps any other error its own name', () => {
    for (const name of ['ValidationException', 'ResourceNotFoundException', 'ConditionalCheckFailedException']) {
      expect(isThrottling(named(name))).toBe(false);
      expect(namedAwsError('x', named(name)).name).toBe(name);
    }
    expect(errorName(JSON.parse(JSON.stringify({ name: 'ThrottlingException' })))).toBe('ThrottlingException');
  });
});
