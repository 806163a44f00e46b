// Small DOM helpers: elements are built with createElement, never from HTML strings, so no
// value from the API is ever parsed as markup.
import { STATE_TONE } from './states.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * h('div#id.card', { onclick, title }, child, ...) — tag with optional #id and .classes; attributes
 * starting with "on" become listeners; null/false children are skipped; strings become text.
 */
export function h(spec, attrs = {}, ...children) {
  const [head, ...classes] = spec.split('.');
  const [tag, id] = head.split('#');
  const el = document.createElement(tag || 'div');
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(' ');
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.setAttribute('class', value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function ago(iso, now = Date.now()) {
  if (!iso) return '';
  const sec = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (sec < 60) return `${sec}s ago`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m ago`;
  if (sec < 86400) return `${Math.floor(sec / 3600)}h ago`;
  return `${Math.floor(sec / 86400)}d ago`;
}

export function duration(seconds) {
  if (seconds === undefined || seconds === null) return '—';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)}h`;
  return `${(seconds / 86400).toFixed(1)}d`;
}

/** Same words as the CLI (core/model/deployment.ts rehearsalLabel): a scan-only rehearsal still deployed. */
function rehearsalTitle(rehearsal) {
  const steps = rehearsal?.steps?.length ? rehearsal.steps : ['deploy'];
  return steps.every((s) => s === 'scan')
    ? 'rehearsal: scan PLANNED, not performed'
    : `rehearsal: ${steps.join(', ')} PLANNED, nothing ran`;
}

export function stateBadge(state, rehearsal) {
  const scanOnly = rehearsal?.steps?.length > 0 && rehearsal.steps.every((s) => s === 'scan');
  return h(
    `span.badge.${STATE_TONE[state] ?? 'idle'}`,
    { 'data-state': state, title: rehearsal ? rehearsalTitle(rehearsal) : state },
    state,
    rehearsal ? (scanOnly ? ' (scan not performed)' : ' (rehearsal)') : null,
  );
}

/**
 * Same words as the CLI (core/read-models/step-status.ts stepStatus): where a rollout stands,
 * "canary 10% — baking, 1m12s left", "failed at 50%"; null for an environment deployed all at once.
 */
export function stepText(stage, now = Date.now()) {
  const r = stage?.rollout;
  if (!r) return null;
  const label = `${r.strategy} ${r.percent}%`;
  switch (stage.state) {
    case 'AWAITING_APPROVAL':
      return `${label} — waiting for approval`;
    case 'DEPLOYING':
      return `${label} — deploying`;
    case 'BAKING': {
      const ends = stage.bakeEndsAt ? Date.parse(stage.bakeEndsAt) : Number.NaN;
      if (!(ends > Date.parse(stage.updatedAt) - 1000)) return `${label} — baking`;
      const left = Math.max(0, Math.ceil((ends - now) / 1000));
      const text = left < 60 ? `${left}s` : `${Math.floor(left / 60)}m${left % 60 ? `${left % 60}s` : ''}`;
      return `${label} — baking, ${text} left`;
    }
    case 'SUCCEEDED':
      return `${label} — all ${r.of} steps done`;
    case 'ROLLING_BACK':
      return `failed at ${r.percent}% — rolling back`;
    case 'ROLLED_BACK':
    case 'ROLLBACK_FAILED':
    case 'FAILED':
    case 'REJECTED':
    case 'INTERRUPTED':
      return `failed at ${r.percent}%`;
    default:
      return null;
  }
}

/** The step of a rollout beside a state badge, or nothing. */
export function stepTag(stage) {
  const text = stepText(stage);
  return text ? h('span.step', { 'data-step': String(stage.rollout.step) }, ` ${text}`) : null;
}

const HEALTH_TONE = { OK: 'good', ALARM: 'bad', INSUFFICIENT_DATA: 'idle', UNKNOWN: 'wait', NONE: 'idle' };
const HEALTH_LABEL = { OK: 'healthy', ALARM: 'ALARM', INSUFFICIENT_DATA: 'no data', UNKNOWN: 'unknown', NONE: 'no alarms' };

export function healthPill(health) {
  if (!health) return null;
  const alarming = health.alarms.filter((a) => a.state === 'ALARM').map((a) => a.name);
  const title = health.alarms.map((a) => `${a.name}: ${a.state}${a.reason ? ` — ${a.reason}` : ''}`).join('\n');
  return h(
    `span.health.${HEALTH_TONE[health.state] ?? 'idle'}`,
    { title: title || 'no alarms watched', 'data-health': health.state },
    h('span.dot'),
    HEALTH_LABEL[health.state] ?? health.state,
    alarming.length ? `: ${alarming.join(', ')}` : null,
  );
}
