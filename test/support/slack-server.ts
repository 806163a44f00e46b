/**
 * A recording stand-in for the Slack Web API on 127.0.0.1 (random port), for the real
 * @slack/web-api client pointed at it with `slackApiUrl`. It answers chat.postMessage,
 * chat.update, chat.postEphemeral, usergroups.users.list, conversations.info and conversations.list the way Slack does (HTTP 200 with
 * `ok: false` and an error code for bad calls, bearer-token auth, channel ids in answers,
 * threads only under existing messages), records every call, and can be told to misbehave:
 * answer 500, answer 429 with Retry-After, or answer late.
 * Also: signed interaction requests, built the way Slack signs them.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  /** What the server did: answered normally, or injected a fault. */
  outcome: 'ok' | 'error' | '500' | '429' | 'late';
  error?: string;
}

export interface PostedMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: Block[];
  /** Earlier versions, oldest first, when chat.update replaced it. */
  history: { text?: string; blocks?: Block[] }[];
}

export interface Ephemeral {
  channel: string;
  user: string;
  text?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON as Slack receives it.
export type Block = Record<string, any>;

export type Fault = { status: 500 } | { status: 429; retryAfter: number } | { delayMs: number };

export interface RecordingSlack {
  /** Base URL for WebClient's slackApiUrl. */
  apiUrl: string;
  calls: SlackCall[];
  messages: PostedMessage[];
  ephemerals: Ephemeral[];
  /** The next calls of `method` get these faults, one per HTTP attempt, in order. */
  fail(method: string, ...faults: Fault[]): void;
  /** Top-level messages of a channel (by id), oldest first. */
  topLevel(channel: string): PostedMessage[];
  replies(channel: string, threadTs: string): PostedMessage[];
  find(channel: string, ts: string): PostedMessage | undefined;
  channelId(name: string): string;
  stop(): Promise<void>;
}

export interface SlackServerOptions {
  token: string;
  /** User group id -> member user ids. */
  groups?: Record<string, string[]>;
  /** Channel name (with #) -> id. Unknown names get channel_not_found. */
  channels?: Record<string, string>;
  /** Channel names (with #) that are archived, and those the bot is not a member of. */
  archived?: string[];
  notMember?: string[];
}

const BUTTON_VALUE_MAX = 2000;

export async function startSlackServer(opts: SlackServerOptions): Promise<RecordingSlack> {
  const channels = new Map(Object.entries(opts.channels ?? { '#deploys': 'C0DEPLOYS', '#approvals': 'C0APPROVALS' }));
  const channelIds = new Set(channels.values());
  const calls: SlackCall[] = [];
  const messages: PostedMessage[] = [];
  const ephemerals: Ephemeral[] = [];
  const faults = new Map<string, Fault[]>();
  let counter = 0;
  const base = Math.floor(Date.now() / 1000);
  const nextTs = () => `${base + Math.floor(counter / 1000)}.${String(++counter).padStart(6, '0')}`;

  const resolveChannel = (value: unknown): string | undefined => {
    if (typeof value !== 'string') return undefined;
    if (channelIds.has(value)) return value;
    return channels.get(value.startsWith('#') ? value : `#${value}`);
  };
  const find = (channel: string, ts: string) => messages.find((m) => m.channel === channel && m.ts === ts);
  const conversation = (name: string, id: string) => ({
    id,
    name: name.slice(1),
    is_channel: true,
    is_archived: opts.archived?.includes(name) ?? false,
    is_member: !(opts.notMember?.includes(name) ?? false),
  });

  const methods: Record<string, (args: Record<string, unknown>) => Record<string, unknown>> = {
    'chat.postMessage': (args) => {
      const channel = resolveChannel(args.channel);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      const checked = checkContent(args);
      if (checked) return { ok: false, error: checked };
      if (args.thread_ts !== undefined) {
        const parent = find(channel, String(args.thread_ts));
        if (!parent || parent.thread_ts) return { ok: false, error: 'thread_not_found' };
      }
      const message: PostedMessage = {
        channel,
        ts: nextTs(),
        ...(args.thread_ts ? { thread_ts: String(args.thread_ts) } : {}),
        ...(typeof args.text === 'string' ? { text: args.text } : {}),
        ...(Array.isArray(args.blocks) ? { blocks: args.blocks as Block[] } : {}),
        history: [],
      };
      messages.push(message);
      return { ok: true, channel, ts: message.ts, message: { type: 'message', text: message.text, ts: message.ts } };
    },
    'chat.update': (args) => {
      // Slack wants the channel id here, not a name.
      const channel = typeof args.channel === 'string' && channelIds.has(args.channel) ? args.channel : undefined;
      if (!channel) return { ok: false, error: 'channel_not_found' };
      const message = find(channel, String(args.ts));
      if (!message) return { ok: false, error: 'message_not_found' };
      const checked = checkContent(args);
      if (checked) return { ok: false, error: checked };
      message.history.push({
        ...(message.text !== undefined ? { text: message.text } : {}),
        ...(message.blocks ? { blocks: message.blocks } : {}),
      });
      if (typeof args.text === 'string') message.text = args.text;
      if (Array.isArray(args.blocks)) message.blocks = args.blocks as Block[];
      return { ok: true, channel, ts: message.ts, text: message.text };
    },
    'chat.postEphemeral': (args) => {
      const channel = resolveChannel(args.channel);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      if (typeof args.user !== 'string' || !/^[UW]/.test(args.user)) return { ok: false, error: 'user_not_in_channel' };
      const checked = checkContent(args);
      if (checked) return { ok: false, error: checked };
      ephemerals.push({ channel, user: args.user, ...(typeof args.text === 'string' ? { text: args.text } : {}) });
      return { ok: true, message_ts: nextTs() };
    },
    // https://docs.slack.dev/reference/methods/conversations.info : takes a channel id; an id the
    // token cannot see is channel_not_found. The answer is a conversation object
    // (https://docs.slack.dev/reference/objects/conversation-object) with is_archived, is_member.
    'conversations.info': (args) => {
      const id = typeof args.channel === 'string' && channelIds.has(args.channel) ? args.channel : undefined;
      const name = [...channels].find(([, v]) => v === id)?.[0];
      if (!id || !name) return { ok: false, error: 'channel_not_found' };
      return { ok: true, channel: conversation(name, id) };
    },
    // https://docs.slack.dev/reference/methods/conversations.list : paged by `limit` and `cursor`;
    // response_metadata.next_cursor is "" on the last page.
    'conversations.list': (args) => {
      const all = [...channels].map(([name, id]) => conversation(name, id));
      const listed = args.exclude_archived === true || args.exclude_archived === 'true' ? all.filter((c) => !c.is_archived) : all;
      const start = args.cursor ? Number(Buffer.from(String(args.cursor), 'base64').toString()) : 0;
      const limit = Math.max(1, Math.min(1000, Number(args.limit ?? 100)));
      const next = start + limit < listed.length ? Buffer.from(String(start + limit)).toString('base64') : '';
      return { ok: true, channels: listed.slice(start, start + limit), response_metadata: { next_cursor: next } };
    },
    'usergroups.users.list': (args) => {
      const members = opts.groups?.[String(args.usergroup)];
      if (!members) return { ok: false, error: 'no_such_subteam' };
      return { ok: true, users: members };
    },
  };

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const body = await readAll(req);
    const args = parseArgs(req.headers['content-type'], body);
    const answer = (status: number, json: Record<string, unknown>, headers: Record<string, string> = {}) => {
      if (res.writableEnded || res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(json));
    };
    const fault = faults.get(method)?.shift();
    if (fault && 'status' in fault && fault.status === 500) {
      calls.push({ method, args, outcome: '500' });
      return answer(500, { ok: false, error: 'internal_error' });
    }
    if (fault && 'status' in fault && fault.status === 429) {
      calls.push({ method, args, outcome: '429' });
      return answer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfter) });
    }
    if (fault && 'delayMs' in fault) {
      // Answers late (the client has usually given up by then); what it would have done is not done.
      calls.push({ method, args, outcome: 'late' });
      await new Promise((r) => setTimeout(r, fault.delayMs));
      return answer(200, { ok: false, error: 'request_timeout' });
    }
    if (req.headers.authorization !== `Bearer ${opts.token}`) {
      calls.push({ method, args, outcome: 'error', error: 'invalid_auth' });
      return answer(200, { ok: false, error: 'invalid_auth' });
    }
    const handler = methods[method];
    const result = handler ? handler(args) : { ok: false, error: 'unknown_method' };
    calls.push({
      method,
      args,
      outcome: result.ok ? 'ok' : 'error',
      ...(result.ok ? {} : { error: String(result.error) }),
    });
    answer(200, result);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    calls,
    messages,
    ephemerals,
    fail: (method, ...list) => faults.set(method, [...(faults.get(method) ?? []), ...list]),
    topLevel: (channel) => messages.filter((m) => m.channel === channel && !m.thread_ts),
    replies: (channel, threadTs) => messages.filter((m) => m.channel === channel && m.thread_ts === threadTs),
    find,
    channelId: (name) => {
      const id = resolveChannel(name);
      if (!id) throw new Error(`no channel ${name} on the recording Slack server`);
      return id;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Slack's checks on message content that matter here: some text, well-formed buttons. */
function checkContent(args: Record<string, unknown>): string | undefined {
  if (args.blocks !== undefined && !Array.isArray(args.blocks)) return 'invalid_blocks_format';
  if (typeof args.text !== 'string' && !Array.isArray(args.blocks)) return 'no_text';
  for (const block of (args.blocks as Block[] | undefined) ?? []) {
    for (const element of block.type === 'actions' ? (block.elements as Block[]) : []) {
      if (typeof element.value === 'string' && element.value.length > BUTTON_VALUE_MAX) return 'invalid_blocks';
      if (typeof element.action_id !== 'string' || element.action_id.length > 255) return 'invalid_blocks';
    }
  }
  return undefined;
}

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** WebClient sends form-encoded fields, with arrays and objects as JSON strings. */
function parseArgs(contentType: string | undefined, body: string): Record<string, unknown> {
  if (contentType?.startsWith('application/json')) return body ? (JSON.parse(body) as Record<string, unknown>) : {};
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    args[key] = /^[[{]/.test(value) ? safeJson(value) : value;
  }
  return args;
}

function safeJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Every button in a message's blocks. */
export function buttons(message: { blocks?: Block[] } | undefined): Block[] {
  return (message?.blocks ?? []).flatMap((b) => (b.type === 'actions' ? (b.elements as Block[]) : []));
}

/** All the text of a message's blocks (sections, fields, context), for assertions. */
export function blockText(message: { blocks?: Block[] } | undefined): string {
  const texts: string[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      const v = value as Record<string, unknown>;
      if (typeof v.text === 'string') texts.push(v.text);
      for (const [k, child] of Object.entries(v)) if (k !== 'text' || typeof child !== 'string') walk(child);
    }
  };
  walk(message?.blocks ?? []);
  return texts.join('\n');
}

export interface InteractionOptions {
  /** Epoch seconds; default now. */
  timestamp?: number;
}

/** A block_actions payload as Slack sends it when someone clicks one of our buttons. */
export function blockActions(input: {
  user: string;
  username?: string;
  action: 'approve' | 'reject';
  approvalId: string;
  channel: string;
  messageTs: string;
}): Record<string, unknown> {
  return {
    type: 'block_actions',
    team: { id: 'T0COCONUT', domain: 'coconut-test' },
    user: {
      id: input.user,
      username: input.username ?? input.user.toLowerCase(),
      name: input.username ?? input.user.toLowerCase(),
      team_id: 'T0COCONUT',
    },
    api_app_id: 'A0COCONUT',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: input.messageTs, channel_id: input.channel, is_ephemeral: false },
    trigger_id: '1.2.3',
    channel: { id: input.channel, name: 'deploys' },
    message: { type: 'message', ts: input.messageTs, text: 'Approval needed' },
    response_url: 'https://hooks.slack.invalid/actions/T0/1/xyz',
    actions: [
      {
        action_id: input.action === 'approve' ? 'coconut_approve' : 'coconut_reject',
        block_id: 'coconut_approval',
        value: input.approvalId,
        type: 'button',
        action_ts: `${Math.floor(Date.now() / 1000)}.000100`,
      },
    ],
  };
}

/** The body and headers Slack would send: form-encoded `payload`, signed with the secret. */
export function signedInteraction(
  signingSecret: string,
  payload: Record<string, unknown>,
  opts: InteractionOptions = {},
): { body: string; headers: Record<string, string> } {
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': signature,
    },
  };
}
