/**
 * Helpers shared by the engines' history adapters: what part of an error cause may be shown to
 * people. Causes can carry a whole CodeBuild Build object (environment, logs locations): only
 * its one-line summary leaves the service.
 */
import { describeFailure } from '../model/failure.ts';

const MAX_CAUSE = 300;

export function summarizeCause(error: string | undefined, cause: unknown): string | undefined {
  if (cause === undefined || cause === null || cause === '') return undefined;
  const text = typeof cause === 'string' ? cause : JSON.stringify(cause);
  if (text.trimStart().startsWith('{')) {
    const described = describeFailure({ Error: error ?? 'Error', Cause: text }, 'step');
    // describeFailure recognizes build failures; any other JSON is not for display (the reason then
    // quotes the cause, or its start: a '{' either way).
    return described.reason.includes('{') ? 'details omitted' : described.reason;
  }
  return text.length > MAX_CAUSE ? `${text.slice(0, MAX_CAUSE - 1)}…` : text;
}
