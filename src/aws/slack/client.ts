/**
 * The Slack Web API client (@slack/web-api) with the two retry profiles Coconut needs, and a
 * time budget around every call. Slack being down must slow a deployment step a little at
 * most, never fail it: a step that throws or outlives its Lambda timeout is retried or failed
 * by the state machine, so every call here is bounded well inside that.
 */
import { type Logger, LogLevel, type RetryOptions, WebClient } from '@slack/web-api';
import type { Log } from '../../core/ports.ts';

export interface ClientProfile {
  /** node-retry options: backoff between attempts for 5xx answers, timeouts and network errors. */
  retryConfig: RetryOptions;
  /** Per HTTP request. */
  timeoutMs: number;
  /** false: wait out a 429's Retry-After and try again (the client pauses its queue meanwhile). */
  rejectRateLimitedCalls: boolean;
  /** Upper bound for one call including its retries; past it the caller goes on without Slack. */
  budgetMs: number;
}

export type ProfileName = 'background' | 'interactive';

export const PROFILES: Record<ProfileName, ClientProfile> = {
  // State-machine steps (approval requests, thread replies): patient, but done well before a
  // 30 s Lambda timeout. Three retries at ~0.5, 1, 2 s (randomized), rate limits waited out.
  background: {
    retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 4000, randomize: true, maxRetryTime: 12_000 },
    timeoutMs: 5000,
    rejectRateLimitedCalls: false,
    budgetMs: 15_000,
  },
  // While Slack waits for our answer to a click (3 s): one quick retry, no waiting out a 429.
  interactive: {
    retryConfig: { retries: 1, factor: 2, minTimeout: 100, maxTimeout: 200, randomize: true },
    timeoutMs: 1000,
    rejectRateLimitedCalls: true,
    budgetMs: 2000,
  },
};

export interface SlackClientOptions {
  token: string;
  /** Another API base URL (tests: the local recording server); default https://slack.com/api/. */
  apiUrl?: string;
  profile: ClientProfile;
  log: Log;
}

export function createSlackClient(opts: SlackClientOptions): WebClient {
  return new WebClient(opts.token, {
    ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl.endsWith('/') ? opts.apiUrl : `${opts.apiUrl}/` } : {}),
    retryConfig: opts.profile.retryConfig,
    timeout: opts.profile.timeoutMs,
    rejectRateLimitedCalls: opts.profile.rejectRateLimitedCalls,
    logger: slackLogger(opts.log),
    logLevel: LogLevel.WARN,
    // Absolute URLs would let a method name redirect the bot token elsewhere.
    allowAbsoluteUrls: false,
  });
}

/** The client's own log lines go to ours at debug level: Coconut reports failures itself, once. */
function slackLogger(log: Log): Logger {
  let level = LogLevel.WARN;
  const line = (parts: unknown[]) => `slack web-api: ${parts.map(String).join(' ')}`;
  return {
    debug: (...m) => log.debug(line(m)),
    info: (...m) => log.debug(line(m)),
    warn: (...m) => log.debug(line(m)),
    error: (...m) => log.debug(line(m)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

export class SlackCallError extends Error {
  override name = 'SlackCallError';
}

/**
 * Runs one Slack call within the profile's budget. On timeout the call is abandoned (it may
 * still finish in the background) and the caller gets an error to log.
 */
export async function withinBudget<T>(method: string, budgetMs: number, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SlackCallError(`Slack ${method}: no answer within ${budgetMs} ms`)), budgetMs);
    timer.unref();
  });
  try {
    return await Promise.race([call(), deadline]);
  } catch (error) {
    if (error instanceof SlackCallError) throw error;
    throw new SlackCallError(`Slack ${method} failed: ${describeSlackError(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/** A short reason without request bodies or headers (they can hold the token). */
export function describeSlackError(error: unknown): string {
  const e = error as { code?: string; message?: string; data?: { error?: string }; statusCode?: number; retryAfter?: number };
  if (e?.data?.error) return e.data.error;
  if (e?.statusCode) return `HTTP ${e.statusCode}`;
  if (e?.retryAfter !== undefined) return `rate limited (retry after ${e.retryAfter} s)`;
  return e?.message ?? String(error);
}
