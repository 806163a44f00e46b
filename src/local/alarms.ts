/**
 * Local CloudWatch: the alarms named in coconut.yaml, evaluated in process. An alarm with a
 * probe checks an HTTP endpoint every period (2xx/3xx OK; errors and timeouts count towards
 * ALARM after `failuresToAlarm` in a row; nothing listening = INSUFFICIENT_DATA). Any alarm
 * can be set by hand (`coconut alarm set NAME ALARM|OK`, or `auto` to hand it back to its
 * probe). Every change is published as the same "CloudWatch Alarm State Change" event AWS sends.
 */

import { randomUUID } from 'node:crypto';
import type { CoconutConfig, LocalAlarmConfig } from '../core/config/schema.ts';
import type { AlarmStateValue, AlarmStatus, Alarms, Log } from '../core/ports.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './asl.ts';
import type { BusEvent } from './bus.ts';

interface AlarmEntry {
  name: string;
  state: AlarmStateValue;
  reason: string;
  updatedAt: string;
  probe?: LocalAlarmConfig & { probe: string };
  failures: number;
  manual: boolean;
  timer?: NodeJS.Timeout;
  probing: boolean;
}

export class LocalAlarms implements Alarms {
  private readonly alarms = new Map<string, AlarmEntry>();
  private readonly publish: (event: BusEvent) => Promise<unknown>;
  private readonly log: Log;

  constructor(config: CoconutConfig, publish: (event: BusEvent) => Promise<unknown>, log: Log) {
    this.publish = publish;
    this.log = log;
    const now = new Date().toISOString();
    const names = new Set(config.services.flatMap((s) => s.environments.flatMap((e) => e.alarms)));
    for (const name of Object.keys(config.local.alarms)) names.add(name);
    for (const name of names) {
      const local = config.local.alarms[name];
      this.alarms.set(name, {
        name,
        ...(local?.probe
          ? {
              state: 'INSUFFICIENT_DATA' as const,
              reason: `waiting for the first probe of ${local.probe}`,
              probe: { ...local, probe: local.probe },
            }
          : { state: 'OK' as const, reason: 'no local probe; set it with `coconut alarm set`' }),
        updatedAt: now,
        failures: 0,
        manual: false,
        probing: false,
      });
    }
  }

  start(): void {
    for (const alarm of this.alarms.values()) {
      if (!alarm.probe) continue;
      alarm.timer = setInterval(() => void this.probe(alarm), alarm.probe.period * 1000);
      alarm.timer.unref();
      void this.probe(alarm);
    }
  }

  stop(): void {
    for (const alarm of this.alarms.values()) if (alarm.timer) clearInterval(alarm.timer);
  }

  async getStates(names: string[]): Promise<AlarmStatus[]> {
    return names.map((name) => {
      const a = this.alarms.get(name);
      return a ? { name, state: a.state, reason: a.reason, updatedAt: a.updatedAt } : { name, state: 'UNKNOWN' as const };
    });
  }

  list(): (AlarmStatus & { probe?: string; manual: boolean })[] {
    return [...this.alarms.values()].map((a) => ({
      name: a.name,
      state: a.state,
      reason: a.reason,
      updatedAt: a.updatedAt,
      manual: a.manual,
      ...(a.probe ? { probe: a.probe.probe } : {}),
    }));
  }

  /** Sets an alarm by hand; `auto` hands it back to its probe. */
  async set(name: string, state: AlarmStateValue | 'auto', reason?: string): Promise<AlarmStatus> {
    const alarm = this.alarms.get(name);
    if (!alarm) {
      throw Object.assign(new Error(`no alarm named ${name} (known: ${[...this.alarms.keys()].join(', ') || 'none'})`), {
        name: 'NotFoundError',
      });
    }
    if (state === 'auto') {
      alarm.manual = false;
      alarm.failures = 0;
      if (alarm.probe) void this.probe(alarm);
    } else {
      alarm.manual = true;
      await this.change(alarm, state, reason ?? `set by hand to ${state}`);
    }
    return { name, state: alarm.state, reason: alarm.reason, updatedAt: alarm.updatedAt };
  }

  private async probe(alarm: AlarmEntry): Promise<void> {
    if (!alarm.probe || alarm.manual || alarm.probing) return;
    alarm.probing = true;
    const url = alarm.probe.probe;
    try {
      const timeout = Math.min(alarm.probe.period * 1000, 2000);
      let outcome: { ok: true } | { ok: false; why: string } | { noData: string };
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(timeout), redirect: 'manual' });
        await res.body?.cancel();
        outcome = res.status < 400 ? { ok: true } : { ok: false, why: `${url} answered ${res.status}` };
      } catch (error) {
        const code = (error as { cause?: { code?: string } }).cause?.code;
        outcome =
          code === 'ECONNREFUSED'
            ? { noData: `nothing answers at ${url}` }
            : { ok: false, why: `${url} did not answer in ${timeout} ms (${(error as Error).name})` };
      }
      if (alarm.manual) return; // set by hand while we were probing
      if ('noData' in outcome) {
        alarm.failures = 0;
        await this.change(alarm, 'INSUFFICIENT_DATA', outcome.noData);
      } else if (outcome.ok) {
        alarm.failures = 0;
        await this.change(alarm, 'OK', `${url} is healthy`);
      } else {
        alarm.failures++;
        if (alarm.failures >= alarm.probe.failuresToAlarm) {
          await this.change(alarm, 'ALARM', `${outcome.why} (${alarm.failures} probes in a row)`);
        }
      }
    } finally {
      alarm.probing = false;
    }
  }

  private async change(alarm: AlarmEntry, state: AlarmStateValue, reason: string): Promise<void> {
    if (alarm.state === state) return;
    const previous = { value: alarm.state, reason: alarm.reason, timestamp: alarm.updatedAt };
    alarm.state = state;
    alarm.reason = reason;
    alarm.updatedAt = new Date().toISOString();
    const level = state === 'ALARM' ? 'warn' : 'info';
    this.log[level](`alarm ${alarm.name}: ${previous.value} -> ${state} (${reason})`, { alarm: alarm.name, state });
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account: LOCAL_ACCOUNT,
      time: alarm.updatedAt,
      region: LOCAL_REGION,
      resources: [`arn:aws:cloudwatch:${LOCAL_REGION}:${LOCAL_ACCOUNT}:alarm:${alarm.name}`],
      detail: {
        alarmName: alarm.name,
        state: { value: state, reason, timestamp: alarm.updatedAt },
        previousState: previous,
        configuration: {
          description: alarm.probe ? `local probe of ${alarm.probe.probe}` : 'local alarm set by hand',
          metrics: [],
        },
      },
    };
    await this.publish(event).catch((error) => this.log.error(`could not publish the change of ${alarm.name}: ${String(error)}`));
  }
}
