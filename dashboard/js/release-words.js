// Release governance in the words the CLI uses, so the page and `coconut status` read alike.
// Deliberate copies of src/core/model/release.ts triggerLabel and src/core/pipeline/freeze.ts
// freezeSummary / frozenMessage; test/unit/release-words.test.ts holds them equal.

/** What started a deployment: "ecr-push", "manual", "promote from staging". */
export function triggerLabel(trigger) {
  if (!trigger) return '';
  return trigger.kind === 'promote' && trigger.from ? `promote from ${trigger.from}` : trigger.kind;
}

/** "promote from staging by ana", or the kind alone when nobody is named. */
export function triggerText(trigger) {
  if (!trigger) return '';
  return `${triggerLabel(trigger)}${trigger.actor ? ` by ${trigger.actor}` : ''}`;
}

/** "FROZEN until 2026-12-07 10:00 (Europe/Berlin): weekend" (the reason the freeze gate gives a held stage). */
export function frozenMessage(freeze) {
  return `FROZEN until ${freeze.next ? freeze.next.local : 'further notice (no opening within a year)'}: ${freeze.reason}`;
}

/** "OPEN, closes 2026-12-04 18:00 (Europe/Berlin)", "OPEN", or the frozen message. */
export function freezeSummary(freeze) {
  if (!freeze.open) return frozenMessage(freeze);
  return freeze.next ? `OPEN, closes ${freeze.next.local}` : 'OPEN';
}
