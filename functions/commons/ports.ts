/**
 * The handlers' ports live in src/core/handler-ports.ts (AWS and local wiring import them from
 * there, downward). This re-export remains only for the webhook files whose middleware stack is
 * being unified in parallel (issue 14); import from src/core/handler-ports.ts in new code.
 */
export type { Ports, PortsProvider, SlackPorts, WebhookSecrets } from '../../src/core/handler-ports.ts';
export { memoize, withSecrets } from '../../src/core/handler-ports.ts';
