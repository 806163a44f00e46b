/**
 * How a value that does not fit its zod schema is told, in one place: each issue as
 * "field.path[0]: what was expected", the first few joined by "; ". Request bodies, handler
 * events, webhook payloads and history lines all read the same way.
 */
import type { z } from 'zod';

/** `services[0].environments[1].name`: the path as it would be written in the document. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`)).join('');
}

/**
 * "path: message; path: message" for the first `max` issues. `whole` names the value itself
 * (an issue with an empty path), e.g. "(body)" or "(event)".
 */
export function describeZodIssues(error: z.ZodError, whole: string, max = 5): string {
  return error.issues
    .slice(0, max)
    .map((issue) => `${formatPath(issue.path) || whole}: ${issue.message}`)
    .join('; ');
}
