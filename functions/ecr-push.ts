/**
 * EventBridge "ECR Image Action" -> deployments. A push that matches no service is ignored
 * with a log line saying why; a duplicate push starts nothing (the execution name is the key).
 */
import middy from '@middy/core';
import { awsPorts } from '../src/aws/ports.ts';
import { type EcrImageActionEvent, ecrImageActionSchema, normalizeEcrEvent } from '../src/core/events/ecr.ts';
import type { PortsProvider } from '../src/core/handler-ports.ts';
import { type ReleaseOutcome, startDeployments } from '../src/core/triggers/start-deployment.ts';
import { onLambda } from './commons/lambda-entry.ts';
import { logErrors, parsedAs, parseEvent } from './commons/middleware.ts';

export type EcrPushResult = ReleaseOutcome | { ignored: string };

export function createEcrPushHandler(ports: PortsProvider) {
  return middy<EcrImageActionEvent, EcrPushResult>()
    .use(logErrors(ports, 'ecr-push'))
    .use(parseEvent(ecrImageActionSchema, 'ECR Image Action event'))
    .handler(async (event) => {
      const p = await ports();
      const normalized = normalizeEcrEvent(parsedAs(ecrImageActionSchema, event));
      if ('ignored' in normalized) {
        p.log.info(`ignored ECR event ${event.id}: ${normalized.ignored}`, { eventId: event.id });
        return { ignored: normalized.ignored };
      }
      return startDeployments(normalized.release, p);
    });
}

export const handler = onLambda(createEcrPushHandler(awsPorts));
