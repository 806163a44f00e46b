/**
 * src/core/events/slack.ts: a Slack interaction body (form-encoded, the JSON in `payload`, as
 * Slack's "block_actions payload" reference shows it) read once, its problems told the way every
 * other input's are (src/core/model/zod-issues.ts).
 */
import { describe, expect, it } from 'vitest';
import { parseSlackPayload } from '../../src/core/events/slack.ts';

const form = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

describe('parseSlackPayload', () => {
  it('reads a button click', () => {
    const click = {
      type: 'block_actions',
      user: { id: 'U0123ABCD', username: 'alice', name: 'alice' },
      channel: { id: 'C0123', name: 'deploys' },
      container: { type: 'message', channel_id: 'C0123', message_ts: '1700000000.000100' },
      actions: [{ type: 'button', action_id: 'coconut_approve', value: 'apr-0123456789', action_ts: '1700000001.000' }],
    };
    expect(parseSlackPayload(form(click))).toMatchObject({ user: { id: 'U0123ABCD' }, actions: [{ value: 'apr-0123456789' }] });
  });

  it('names what is wrong, with the shared path format', () => {
    expect(parseSlackPayload('')).toBe('expected a form-encoded body with a "payload" field');
    expect(parseSlackPayload('payload=%7B')).toBe('the "payload" field is not JSON');
    expect(parseSlackPayload(form({ type: 'block_actions', user: { id: 'U0123ABCD' }, actions: [{ value: 'x' }] }))).toBe(
      'not a Slack interaction payload: actions[0].action_id: Invalid input: expected string, received undefined',
    );
    expect(parseSlackPayload(form({ type: 'block_actions', user: { id: 'alice' } }))).toBe(
      'not a Slack interaction payload: user.id: expected a Slack user id',
    );
  });
});
