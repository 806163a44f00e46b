// Types of release-words.js for the tests (the dashboard itself is plain JavaScript).
import type { Trigger } from '../../src/core/model/release.ts';
import type { FreezeStatus } from '../../src/core/pipeline/freeze.ts';
export function triggerLabel(trigger: Pick<Trigger, 'kind' | 'from'> | undefined): string;
export function triggerText(trigger: Pick<Trigger, 'kind' | 'from' | 'actor'> | undefined): string;
export function frozenMessage(freeze: FreezeStatus): string;
export function freezeSummary(freeze: FreezeStatus): string;
