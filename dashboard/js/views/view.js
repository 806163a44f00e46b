// What every view shares: the polling loop, swapping content without rebuilding what the
// user is using, toasts and errors, the query part of the address, select fields.
import { ApiError } from '../api.js';
import { clear, h } from '../dom.js';

export const main = document.getElementById('main');
export const POLL_MS = 1500;
let timer;
let generation = 0;

function schedule(fn, ms = POLL_MS) {
  clearTimeout(timer);
  timer = setTimeout(fn, ms);
}

function setLive(ok, text) {
  const live = document.getElementById('live');
  live.className = `live ${ok ? 'ok' : 'down'}`;
  live.textContent = text;
}

export function toast(text, tone = 'good') {
  const el = h(`div.toast.${tone}`, { role: 'status' }, text);
  document.getElementById('toasts').append(el);
  setTimeout(() => el.remove(), 6000);
}

export function errorBox(error) {
  return h('div.error', { role: 'alert' }, error instanceof ApiError ? error.message : `Cannot reach Coconut: ${error.message}`);
}

/** Stops the shown view's refresh loop (before another view is shown). */
export function stopViews() {
  clearTimeout(timer);
  generation++;
}

/** Re-renders a view every intervalMs while it is shown; keeps the old content on errors. */
export async function live(name, render, intervalMs = POLL_MS) {
  const mine = ++generation; // a newer view (or the same one re-opened) stops this loop
  clearTimeout(timer);
  const tick = async () => {
    if (mine !== generation) return;
    try {
      const again = await render();
      setLive(true, `live · ${new Date().toLocaleTimeString()}`);
      if (again !== false) schedule(tick, intervalMs);
    } catch (error) {
      setLive(false, 'reconnecting…');
      if (!main.dataset.view || main.dataset.view !== name) clear(main).append(errorBox(error));
      schedule(tick, intervalMs);
    }
  };
  await tick();
}

/**
 * Swaps the view's content. Parts marked data-keep whose key is unchanged keep their old
 * elements: an approval card being typed into or clicked is never rebuilt under the user.
 */
export function replace(name, ...children) {
  const kept = new Map([...main.querySelectorAll('[data-keep]')].map((el) => [el.dataset.keep, el]));
  const fresh = h('div', {}, ...children);
  for (const el of fresh.querySelectorAll('[data-keep]')) {
    const old = kept.get(el.dataset.keep);
    if (old) el.replaceWith(old);
  }
  main.dataset.view = name;
  clear(main).append(...fresh.childNodes);
}

export function params() {
  const q = location.hash.split('?')[1] ?? '';
  return new URLSearchParams(q);
}

export function selectField(name, label, options, value, onchange) {
  return h(
    'label',
    {},
    label,
    h('select', { name, onchange }, ...options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))),
  );
}
