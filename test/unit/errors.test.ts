/**
 * Domain errors: their names (the local server and bus branch on them, logs print them) and the words of a
 * configuration error, which point at the file, line and path of each problem.
 */
import { describe, expect, it } from 'vitest';
import {
  CoconutError,
  ConfigError,
  ConflictError,
  DigestUnresolvedError,
  ForbiddenError,
  InvalidInputError,
  InvalidTransitionError,
  NotFoundError,
  TaskTokenExpiredError,
} from '../../src/core/model/errors.ts';

describe('domain errors', () => {
  it('each carries its own name and message and is a CoconutError', () => {
    const made = [
      [new CoconutError('m'), 'CoconutError'],
      [new InvalidInputError('m'), 'InvalidInputError'],
      [new InvalidTransitionError('m'), 'InvalidTransitionError'],
      [new NotFoundError('m'), 'NotFoundError'],
      [new ConflictError('m'), 'ConflictError'],
      [new ForbiddenError('m'), 'ForbiddenError'],
      [new DigestUnresolvedError('m'), 'DigestUnresolvedError'],
      [new TaskTokenExpiredError('m'), 'TaskTokenExpiredError'],
      [new ConfigError('coconut.yaml', [{ path: 'a', message: 'm' }]), 'ConfigError'],
    ] as const;
    for (const [error, name] of made) {
      expect(error).toBeInstanceOf(CoconutError);
      expect(error.name).toBe(name);
      expect(String(error)).toMatch(new RegExp(`^${name}: `));
    }
  });
});

describe('ConfigError', () => {
  it('points at the file, line and column of a single problem', () => {
    const error = new ConfigError('coconut.yaml', [
      { path: 'services[0].environments[1].bake', message: 'expected a duration', line: 12, column: 9 },
    ]);
    expect(error.message).toBe('coconut.yaml:12:9: services[0].environments[1].bake: expected a duration');
    expect(error.file).toBe('coconut.yaml');
    expect(error.issues).toEqual([
      { path: 'services[0].environments[1].bake', message: 'expected a duration', line: 12, column: 9 },
    ]);
  });

  it('takes column 1 when only the line is known, the file alone when no line is, and names the whole document', () => {
    expect(new ConfigError('c.yaml', [{ path: 'slack', message: 'm', line: 3 }]).message).toBe('c.yaml:3:1: slack: m');
    expect(new ConfigError('c.yaml', [{ path: 'slack', message: 'm' }]).message).toBe('c.yaml: slack: m');
    expect(new ConfigError('c.yaml', [{ path: '', message: 'cannot read the configuration: ENOENT' }]).message).toBe(
      'c.yaml: (document): cannot read the configuration: ENOENT',
    );
  });

  it('lists several problems, one a line, after their count', () => {
    const error = new ConfigError('c.yaml', [
      { path: 'services', message: 'expected an array', line: 2, column: 3 },
      { path: 'slack.users', message: 'expected an object' },
    ]);
    expect(error.message).toBe(
      'c.yaml has 2 problems:\n  - c.yaml:2:3: services: expected an array\n  - c.yaml: slack.users: expected an object',
    );
  });
});
