/**
 * Webhook requests shaped like the ones GitHub and Docker Hub send (the fields their docs show,
 * and that Coconut reads), signed like GitHub signs them. Used where no GitHub or Docker Hub is
 * there to send them: `coconut webhook`, the local registry stand-in, the bench.
 */
import { createHash, randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';

function githubRepository(fullName: string) {
  const [owner = '', name = ''] = fullName.split('/');
  return {
    name,
    full_name: fullName,
    private: false,
    owner: { login: owner, type: 'User' },
    html_url: `https://github.com/${fullName}`,
    clone_url: `https://github.com/${fullName}.git`,
    default_branch: 'main',
  };
}

/** A stable stand-in commit id when there is no real commit to name. */
export function standInSha(repository: string, tag: string): string {
  return createHash('sha1').update(`${repository}@${tag}`).digest('hex');
}

/** `push` of a new tag, as GitHub sends it (created: true, no commits listed). */
export function githubTagPush(o: { repository: string; tag: string; sha?: string; sender: string }) {
  const after = o.sha ?? standInSha(o.repository, o.tag);
  return {
    ref: `refs/tags/${o.tag}`,
    before: '0000000000000000000000000000000000000000',
    after,
    created: true,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `https://github.com/${o.repository}/compare/${o.tag}`,
    commits: [],
    head_commit: null,
    repository: githubRepository(o.repository),
    pusher: { name: o.sender, email: `${o.sender}@users.noreply.github.com` },
    sender: { login: o.sender, type: 'User' },
  };
}

/** `registry_package` published for a tagged container image in GHCR. */
export function ghcrPublished(o: { owner: string; name: string; tag: string; digest?: string; sender: string }) {
  const digest = o.digest ?? `sha256:${createHash('sha256').update(`${o.owner}/${o.name}:${o.tag}`).digest('hex')}`;
  return {
    action: 'published',
    registry_package: {
      name: o.name,
      namespace: o.owner,
      ecosystem: 'CONTAINER',
      package_type: 'CONTAINER',
      owner: { login: o.owner, type: 'User' },
      package_version: {
        version: digest,
        name: digest,
        container_metadata: { tag: { name: o.tag, digest } },
        package_url: `ghcr.io/${o.owner}/${o.name}:${o.tag}`,
      },
      registry: { name: 'GitHub CONTAINER registry', type: 'CONTAINER', url: 'https://ghcr.io', vendor: 'GitHub Inc' },
    },
    sender: { login: o.sender, type: 'User' },
  };
}

/** Docker Hub's repository webhook for a push. */
export function dockerhubPush(o: { repository: string; tag: string; pusher: string }) {
  const [namespace = '', name = ''] = o.repository.split('/');
  return {
    callback_url: `https://registry.hub.docker.com/u/${o.repository}/hook/${randomUUID().replaceAll('-', '')}/`,
    push_data: { pushed_at: Math.floor(Date.now() / 1000), pusher: o.pusher, tag: o.tag },
    repository: {
      name,
      namespace,
      owner: namespace,
      repo_name: o.repository,
      repo_url: `https://hub.docker.com/r/${o.repository}`,
      is_private: false,
      status: 'Active',
    },
  };
}

/** Headers and body of a GitHub delivery, signed with the webhook secret. */
export async function signedGithubRequest(
  secret: string,
  event: string,
  payload: unknown,
  deliveryId: string = randomUUID(),
): Promise<{ headers: Record<string, string>; body: string }> {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/coconut-local',
      'x-github-event': event,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': await sign(secret, body),
    },
  };
}
