/**
 * `coconut webhook`: sends the webhook GitHub or Docker Hub would send, signed with the local
 * runtime's secret, to a running Coconut — how to try tag releases and GHCR/Docker Hub pushes
 * without GitHub or Docker Hub. The secret comes from COCONUT_GITHUB_WEBHOOK_SECRET /
 * COCONUT_DOCKERHUB_TOKEN or <data-dir>/secrets.json (what `coconut dev` uses).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../../core/config/load.ts';
import { GITHUB_REPOSITORY_PATTERN } from '../../core/events/github.ts';
import { isValidRepository, isValidTag } from '../../core/model/oci.ts';
import { localSecrets } from '../../local/secrets.ts';
import { dockerhubPush, ghcrPublished, githubTagPush, signedGithubRequest } from '../../local/webhook-payloads.ts';
import { serverUrl } from '../client.ts';
import { configFile } from '../config-file.ts';
import { CommandFailed, UsageError } from '../errors.ts';

export const usage = `coconut webhook github-tag TAG [--repo OWNER/NAME] [--delivery ID] [--sha SHA]
       coconut webhook ghcr OWNER/NAME:TAG
       coconut webhook dockerhub NAMESPACE/NAME:TAG
   options: [--config FILE] [--data-dir DIR] [--json]`;

interface Answer {
  outcomes?: { status: string; service?: string; deploymentId?: string; releaseId?: string; reason?: string }[];
  reason?: string;
  error?: string;
  message?: string;
}

function splitRef(ref: string | undefined): { repository: string; tag: string } {
  const colon = ref?.lastIndexOf(':') ?? -1;
  if (!ref || colon <= 0) throw new UsageError(`expected REPOSITORY:TAG, like coconut-demo/demo-api:1.0.0, got "${ref ?? ''}"`);
  const repository = ref.slice(0, colon);
  const tag = ref.slice(colon + 1);
  if (!isValidRepository(repository) || !repository.includes('/')) {
    throw new UsageError(`"${repository}" is not an image repository like owner/name (lowercase)`);
  }
  return { repository, tag };
}

/** The GitHub repository to claim: --repo, else the only source.github in the config. */
async function repositoryFor(repo: string | undefined, config: string): Promise<string> {
  if (repo) return repo;
  if (!existsSync(config)) {
    throw new UsageError(`pass --repo OWNER/NAME (no ${config} to read source.github from; or pass --config FILE)`);
  }
  const sources = [...new Set((await loadConfigFile(config)).services.flatMap((s) => (s.source ? [s.source.github] : [])))];
  if (sources.length !== 1) {
    throw new UsageError(
      `pass --repo OWNER/NAME (${config} has ${sources.length ? `several: ${sources.join(', ')}` : 'no service with source.github'})`,
    );
  }
  return sources[0] as string;
}

export async function webhook(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      repo: { type: 'string' },
      delivery: { type: 'string' },
      sha: { type: 'string' },
      config: { type: 'string' },
      'data-dir': { type: 'string', default: process.env.COCONUT_DATA_DIR ?? '.coconut' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const [kind, target, ...rest] = positionals;
  if (!kind || !target || rest.length) throw new UsageError('expected a kind (github-tag, ghcr, dockerhub) and one argument');
  const secrets = () => localSecrets(path.resolve(values['data-dir']));
  const user = process.env.USER && /^[A-Za-z0-9-]{1,39}$/.test(process.env.USER) ? process.env.USER : 'coconut-local';
  let route: string;
  let request: { headers: Record<string, string>; body: string };
  let what: string;
  switch (kind) {
    case 'github-tag': {
      if (!isValidTag(target)) throw new UsageError(`"${target}" is not a tag an image can carry (letters, digits, . _ -)`);
      values.config = configFile(values.config);
      const repository = await repositoryFor(values.repo, values.config);
      if (!GITHUB_REPOSITORY_PATTERN.test(repository)) throw new UsageError(`--repo must be OWNER/NAME, got "${repository}"`);
      const payload = githubTagPush({ repository, tag: target, sender: user, ...(values.sha ? { sha: values.sha } : {}) });
      const secret = secrets().secrets.githubWebhookSecret as string;
      request = await signedGithubRequest(secret, 'push', payload, values.delivery ?? randomUUID());
      route = '/webhooks/github';
      what = `tag ${target} of ${repository} (delivery ${request.headers['x-github-delivery']})`;
      break;
    }
    case 'ghcr': {
      const { repository, tag } = splitRef(target);
      const [owner = '', ...name] = repository.split('/');
      const payload = ghcrPublished({ owner, name: name.join('/'), tag, sender: user });
      request = await signedGithubRequest(secrets().secrets.githubWebhookSecret as string, 'registry_package', payload);
      route = '/webhooks/github';
      what = `GHCR push of ghcr.io/${repository}:${tag}`;
      break;
    }
    case 'dockerhub': {
      const { repository, tag } = splitRef(target);
      request = {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(dockerhubPush({ repository, tag, pusher: user.toLowerCase() })),
      };
      route = `/webhooks/dockerhub/${encodeURIComponent(secrets().secrets.dockerhubToken as string)}`;
      what = `Docker Hub push of ${repository}:${tag}`;
      break;
    }
    default:
      throw new UsageError(`unknown kind "${kind}": expected github-tag, ghcr or dockerhub`);
  }
  let res: Response;
  try {
    res = await fetch(`${serverUrl()}${route}`, { method: 'POST', headers: request.headers, body: request.body });
  } catch {
    throw new CommandFailed(`cannot reach Coconut at ${serverUrl()}: is it running? Start it with \`npm start\``);
  }
  const answer = (await res.json().catch(() => ({}))) as Answer;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ status: res.status, ...answer }, null, 2)}\n`);
    return res.ok ? 0 : 1;
  }
  if (!res.ok) throw new CommandFailed(`${what}: HTTP ${res.status}: ${answer.error ?? 'no answer'}`);
  const replay =
    res.headers.get('x-coconut-delivery') === 'replayed' ? ' (a delivery seen before: the same answer, nothing new)' : '';
  process.stdout.write(`sent ${what}: HTTP ${res.status}${replay}\n`);
  for (const o of answer.outcomes ?? []) {
    if (o.status === 'release-started') process.stdout.write(`  ${o.service}: building the image (release ${o.releaseId})\n`);
    else if (o.status === 'started') process.stdout.write(`  ${o.service}: deploying (deployment ${o.deploymentId})\n`);
    else if (o.status === 'release-duplicate' || o.status === 'duplicate')
      process.stdout.write(`  ${o.service}: already released (${o.releaseId ?? o.deploymentId}); nothing new started\n`);
    else process.stdout.write(`  skipped: ${o.reason}\n`);
  }
  if (answer.reason) process.stdout.write(`  ${answer.outcomes?.length ? 'nothing started: ' : ''}${answer.reason}\n`);
  process.stdout.write('follow it with: npx coconut status\n');
  return 0;
}
