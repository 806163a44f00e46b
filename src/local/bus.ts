/**
 * The local EventBridge: PutEvents-shaped entries in, events delivered to the handlers whose
 * rule patterns match, like the AWS rules that infra/ creates from the same patterns. Delivery
 * is retried a few times; what still fails is kept in dead-letter.jsonl, never dropped.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Log } from '../core/ports.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './asl.ts';
import { matches } from './event-pattern.ts';
import { appendPrivateFile } from './private-files.ts';

export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  Time?: string;
  EventBusName?: string;
}

export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

export interface Delivery {
  rule: string;
  result?: unknown;
  error?: string;
}

export interface Rule {
  name: string;
  pattern: Record<string, unknown>;
  target: (event: BusEvent) => Promise<unknown>;
}

const RETRY_DELAYS_MS = [100, 500];

export class LocalEventBus {
  private readonly rules: Rule[] = [];
  private readonly log: Log;
  private readonly deadLetter: string;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(dataDir: string, log: Log) {
    this.log = log;
    this.deadLetter = path.join(dataDir, 'dead-letter.jsonl');
  }

  addRule(rule: Rule): void {
    this.rules.push(rule);
  }

  /** Validates an entry and turns it into the event EventBridge would deliver. */
  static toEvent(entry: PutEventsEntry): BusEvent {
    if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
      throw new Error('each entry needs Source, DetailType and Detail (a JSON string)');
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      throw new Error('Detail must be a JSON object encoded as a string');
    }
    if (!detail || typeof detail !== 'object' || Array.isArray(detail)) throw new Error('Detail must be a JSON object');
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: LOCAL_ACCOUNT,
      time: entry.Time ?? new Date().toISOString(),
      region: LOCAL_REGION,
      resources: entry.Resources ?? [],
      detail,
    };
  }

  /** Delivers to every matching rule; resolves with what each target returned. */
  async publish(event: BusEvent): Promise<Delivery[]> {
    const matched = this.rules.filter((r) => matches(r.pattern, event));
    const work = Promise.all(matched.map((rule) => this.deliver(rule, event)));
    this.inFlight.add(work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(work);
    }
  }

  private async deliver(rule: Rule, event: BusEvent): Promise<Delivery> {
    let lastError: Error | undefined;
    for (let attempt = 0; attempt <= RETRY_DELAYS_MS.length; attempt++) {
      try {
        return { rule: rule.name, result: await rule.target(event) };
      } catch (error) {
        lastError = error as Error;
        // A malformed event will not get better by retrying.
        if (lastError.name === 'InvalidInputError') break;
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay !== undefined) await new Promise((r) => setTimeout(r, delay));
      }
    }
    const message = `${lastError?.name}: ${lastError?.message}`;
    this.log.error(
      `event ${event.id} (${event['detail-type']}) could not be delivered to ${rule.name}: ${message}; kept in ${this.deadLetter}`,
    );
    appendPrivateFile(
      this.deadLetter,
      `${JSON.stringify({ rule: rule.name, error: message, event, at: new Date().toISOString() })}\n`,
    );
    return { rule: rule.name, error: message };
  }

  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
