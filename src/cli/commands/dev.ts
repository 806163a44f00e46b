/** `coconut dev`: runs the local runtime until Ctrl-C. What `npm start` runs. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { consoleLog } from '../../local/console-log.ts';
import { type Runtime, startRuntime } from '../../local/runtime.ts';
import { removeRuntimeFile, writeRuntimeFile } from '../../local/runtime-file.ts';
import { ANSIBLE, installHint } from '../../local/system-tools.ts';
import { which } from '../../local/tools.ts';
import { configFile } from '../config-file.ts';
import { UsageError } from '../errors.ts';

export const usage = 'coconut dev [--config FILE] [--port N] [--data-dir DIR] [--source-dir DIR] [--strict] [--no-probes]';

export async function dev(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      port: { type: 'string', default: process.env.COCONUT_PORT ?? '4500' },
      'data-dir': { type: 'string', default: process.env.COCONUT_DATA_DIR ?? '.coconut' },
      // The repository whose templates/ the builds run (default: Coconut's own templates).
      'source-dir': { type: 'string' },
      strict: { type: 'boolean', default: false },
      'no-probes': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number, got "${values.port}"`);
  const log = consoleLog(values['data-dir']);
  // First thing a user reads: whether deploys will be real, and the one command that makes them so.
  if (!which(ANSIBLE.command)) {
    log.warn(
      values.strict
        ? `${ANSIBLE.command} is missing and --strict is on: Ansible deploys will fail, naming the tool. Install it: ${installHint([ANSIBLE])}`
        : `${ANSIBLE.command} is missing: Ansible deploy steps will be REHEARSALS (PLANNED, nothing runs). For real deploys: ${installHint([ANSIBLE])}`,
    );
  }
  values.config = configFile(values.config, { running: false });
  const runtime = await startRuntime({
    log,
    configPath: values.config,
    port,
    dataDir: values['data-dir'],
    strict: values.strict,
    probes: !values['no-probes'],
    ...(values['source-dir'] ? { sourceDir: values['source-dir'] } : {}),
  });
  // Lets `coconut cost|validate|generate|webhook` beside this runtime find its configuration.
  writeRuntimeFile(values['data-dir'], { configPath: path.resolve(values.config), url: runtime.url, pid: process.pid });
  const tools = ['ansible-playbook', 'helm', 'copilot', 'docker', 'trivy'].map((t) => `${t}: ${which(t) ? 'found' : 'missing'}`);
  log.info(`Coconut is running at ${runtime.url} (local runtime; config ${values.config}; data in ${values['data-dir']})`);
  log.info(`tools on PATH — ${tools.join(', ')}`);
  const kinds = new Set(runtime.config.services.map((s) => s.target.kind));
  for (const tool of ['helm', 'copilot'] as const) {
    if (kinds.has(tool) && !which(tool)) {
      log.warn(`${tool} is missing: ${tool} deploy steps will be REHEARSALS (PLANNED, nothing runs)`);
    }
  }
  if (kinds.has('ecs')) {
    log.info(
      process.env.COCONUT_AWS_ENDPOINT
        ? `ecs targets deploy through the ECS API at ${process.env.COCONUT_AWS_ENDPOINT}`
        : 'COCONUT_AWS_ENDPOINT is not set: ecs deploy steps will be REHEARSALS (PLANNED, nothing runs); point it at an ECS endpoint such as moto_server to deploy',
    );
  }
  log.info(
    `try: npx coconut push ${runtime.config.services[0]?.image.repository ?? 'demo-api'}:1.0.0   then: npx coconut status`,
  );
  printWebhooks(runtime);
  // Like Jupyter: the URL with the operator token, once, on the terminal only (the log file keeps everything).
  process.stdout.write(
    `Dashboard: ${runtime.dashboardUrl}\n  (the token makes you the operator: keep it to yourself; the CLI reads it from ${values['data-dir']}/secrets.json or COCONUT_OPERATOR_TOKEN)\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log.info('stopping…');
  removeRuntimeFile(values['data-dir']);
  await runtime.stop();
  return 0;
}

/**
 * Where to point GitHub and Docker Hub, with the secrets to configure there. Written to the
 * terminal only — never to the log, whose file keeps everything.
 */
function printWebhooks(runtime: Runtime): void {
  const secrets = runtime.ports.secrets ?? {};
  const lines = [
    'Webhooks (the local server listens on 127.0.0.1: reach it from GitHub/Docker Hub through a tunnel):',
    `  GitHub:     POST ${runtime.url}/webhooks/github   content type application/json, events push, create, package/registry_package`,
    `              secret: ${secrets.githubWebhookSecret ?? '(not configured: set COCONUT_GITHUB_WEBHOOK_SECRET)'}`,
    `  Docker Hub: POST ${runtime.url}/webhooks/dockerhub/${secrets.dockerhubToken ?? '<set COCONUT_DOCKERHUB_TOKEN>'}`,
  ];
  if (runtime.secretsFile) lines.push(`  generated secrets are kept in ${runtime.secretsFile} (mode 0600)`);
  const repo = runtime.config.services.find((s) => s.source)?.source?.github;
  if (repo) lines.push(`  try a tag release: npx coconut webhook github-tag 1.3.0 --repo ${repo}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
