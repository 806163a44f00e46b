/**
 * Child-process entry of lambda-host.ts: one cold Lambda execution environment. It loads the
 * handler module named by `_HANDLER` from the task root as the Node.js runtime resolves it
 * ("functions/ecr-push.handler": the file functions/ecr-push.mjs, .js or .cjs under
 * LAMBDA_TASK_ROOT, its export `handler`), calls the export once with the event and a
 * Lambda-shaped context, writes what Lambda would answer to the result file, and exits: Lambda
 * freezes the environment once the handler has answered.
 *
 *   node lambda-host-run.ts <task root> <request file> <result file>
 *
 * The request file holds { event, context: { awsRequestId, functionName, ... }, timeoutMs }.
 * The result is { result } or Lambda's error shape { errorType, errorMessage }.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface Request {
  event: unknown;
  context: {
    awsRequestId: string;
    functionName: string;
    functionVersion: string;
    invokedFunctionArn: string;
    memoryLimitInMB: string;
    logGroupName: string;
    logStreamName: string;
  };
  timeoutMs: number;
}

const [root, requestFile, resultFile] = process.argv.slice(2);
if (!root || !requestFile || !resultFile) {
  throw new Error('usage: node test/support/lambda-host-run.ts <task root> <request file> <result file>');
}
const request = JSON.parse(readFileSync(requestFile, 'utf8')) as Request;
const started = Date.now();

function answer(value: unknown): never {
  writeFileSync(resultFile as string, JSON.stringify(value));
  process.exit(0);
}

try {
  const handlerSetting = process.env._HANDLER ?? '';
  const dot = handlerSetting.lastIndexOf('.');
  if (dot <= 0) throw new Error(`_HANDLER "${handlerSetting}" is not <file>.<export>`);
  const base = path.join(root, handlerSetting.slice(0, dot));
  const file = ['.mjs', '.js', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f));
  if (!file) throw new Error(`no file for handler ${handlerSetting} under ${root}`);
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = mod[handlerSetting.slice(dot + 1)];
  if (typeof handler !== 'function') throw new Error(`${file} has no function export ${handlerSetting.slice(dot + 1)}`);
  const context = {
    ...request.context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, request.timeoutMs - (Date.now() - started)),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
  const result = await (handler as (event: unknown, context: unknown) => Promise<unknown>)(request.event, context);
  answer({ result: result ?? null });
} catch (error) {
  // What Lambda reports for a handler that threw (the Invoke response's FunctionError payload).
  const e = error instanceof Error ? error : new Error(String(error));
  answer({ errorType: e.name, errorMessage: e.message });
}
