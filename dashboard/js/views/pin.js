// A pinned environment (coconut pin): held at a version; automatic deployments wait at the pin.
import { h } from '../dom.js';

/** "pinned at 1.0.0 by alice: audit", and who waits; null when the environment is not pinned. */
export function pinNote(env) {
  const pin = env?.pin;
  if (!pin) return null;
  const waiting = pin.waiting.map((w) => w.version).join(', ');
  return h(
    'div.pin',
    { title: `since ${pin.pinnedAt}; lift with: npx coconut unpin ${pin.service} --env ${pin.environment}` },
    `pinned${pin.version ? ` at ${pin.version}` : ''} by ${pin.pinnedBy}: ${pin.reason}`,
    waiting ? h('div.pin-waiting', {}, `waiting at pin: ${waiting}`) : null,
  );
}
