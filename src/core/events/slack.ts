/**
 * Slack interaction payloads: a click on an approval message's Approve / Reject button, once
 * the handler has checked Slack's signature. Slack posts them form-encoded, the JSON in a
 * `payload` field; a button click is a `block_actions` payload (Slack API reference,
 * "block_actions payload", https://docs.slack.dev/reference/interaction-payloads/block_actions-payload:
 * `type`, `user: { id, username, name }`, `channel`, `container: { channel_id, message_ts }`,
 * `actions: [{ action_id, value }]`). Only the fields Coconut reads are checked.
 */
import { z } from 'zod';
import { describeZodIssues } from '../model/zod-issues.ts';

export const slackPayloadSchema = z.object({
  type: z.string(),
  user: z.object({
    id: z.string().regex(/^[UW][A-Z0-9]{1,20}$/, 'expected a Slack user id'),
    username: z.string().optional(),
    name: z.string().optional(),
  }),
  channel: z.object({ id: z.string().min(1) }).optional(),
  container: z.object({ channel_id: z.string().optional(), message_ts: z.string().optional() }).optional(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).default([]),
});

export type SlackPayload = z.output<typeof slackPayloadSchema>;

/** The payload of a form-encoded interaction body, or what is wrong with it (said to Slack as a 400). */
export function parseSlackPayload(body: string): SlackPayload | string {
  const raw = new URLSearchParams(body).get('payload');
  if (!raw) return 'expected a form-encoded body with a "payload" field';
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return 'the "payload" field is not JSON';
  }
  const parsed = slackPayloadSchema.safeParse(json);
  if (!parsed.success) return `not a Slack interaction payload: ${describeZodIssues(parsed.error, '(payload)', 1)}`;
  return parsed.data;
}
