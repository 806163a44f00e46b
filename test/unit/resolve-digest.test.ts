/**
 * withDigest: an image named by tag only (Docker Hub webhook, git tag, manual deploy) gets its digest from
 * the registry before anything is planned; when the registry cannot tell, nothing starts and the error says
 * which image, why it was asked, and what the user can do.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import type { ImageRef } from '../../src/core/model/deployment.ts';
import { DigestUnresolvedError } from '../../src/core/model/errors.ts';
import type { ImageRegistry } from '../../src/core/ports.ts';
import { withDigest } from '../../src/core/triggers/resolve-digest.ts';

const config = parseConfig(`
services:
  - name: web
    image: { registry: dockerhub, repository: acme/web }
    target: { kind: helm, chart: charts/web }
    environments: [{ name: prod }]
  - name: web-eu
    image: { registry: dockerhub, repository: acme/web, pullSecret: hub-pull }
    target: { kind: helm, chart: charts/web }
    environments: [{ name: prod }]
  - name: web-us
    image: { registry: dockerhub, repository: acme/web, pullSecret: other-pull }
    target: { kind: helm, chart: charts/web }
    environments: [{ name: prod }]
`);
const [web, webEu, webUs] = config.services as [
  (typeof config.services)[0],
  (typeof config.services)[0],
  (typeof config.services)[0],
];

const DIGEST = `sha256:${'c'.repeat(64)}`;
const tagged: ImageRef = { registry: 'dockerhub', repository: 'acme/web', tag: '1.4.0' };

/** A registry that answers `answer` (or throws it) and records what it was asked. */
function registry(answer: () => string | Promise<string>) {
  const asked: { image: unknown; pullSecret: string | undefined }[] = [];
  const port: ImageRegistry = {
    resolveDigest: async (image, pullSecret) => {
      asked.push({ image, pullSecret });
      return answer();
    },
  };
  return { port, asked };
}

function recordingLog() {
  const lines: { message: string; extra?: Record<string, unknown> }[] = [];
  const add = (message: string, extra?: Record<string, unknown>) => {
    lines.push({ message, ...(extra ? { extra } : {}) });
  };
  return { log: { debug: add, info: add, warn: add, error: add }, lines };
}

describe('withDigest', () => {
  it('keeps the digest the event carried, without asking the registry', async () => {
    const r = registry(() => DIGEST);
    const image = { ...tagged, digest: `sha256:${'d'.repeat(64)}` };
    expect(await withDigest(image, [web], { registry: r.port, log: recordingLog().log }, 'why')).toBe(image);
    expect(r.asked).toEqual([]);
  });

  it('leaves the image as it is when no registry is wired', async () => {
    expect(await withDigest(tagged, [web], { log: recordingLog().log }, 'why')).toBe(tagged);
  });

  it("asks the registry for the tag's digest with the first pull secret the services name, and logs the answer", async () => {
    const r = registry(() => DIGEST);
    const { log, lines } = recordingLog();
    const resolved = await withDigest(
      { ...tagged },
      [web, webEu, webUs],
      { registry: r.port, log },
      'the push carried no digest',
    );
    expect(resolved).toEqual({ ...tagged, digest: DIGEST });
    expect(r.asked).toEqual([{ image: { registry: 'dockerhub', repository: 'acme/web', tag: '1.4.0' }, pullSecret: 'hub-pull' }]);
    expect(lines).toEqual([
      {
        message: `resolved dockerhub image acme/web:1.4.0 to ${DIGEST} (the push carried no digest)`,
        extra: { repository: 'acme/web', tag: '1.4.0', digest: DIGEST },
      },
    ]);
  });

  it('asks without a pull secret when no service names one', async () => {
    const r = registry(() => DIGEST);
    await withDigest(tagged, [web], { registry: r.port, log: recordingLog().log }, 'why');
    expect(r.asked[0]?.pullSecret).toBeUndefined();
  });

  it('names the image, the reason and the way out when the registry fails, and deploys nothing', async () => {
    const r = registry(() => {
      throw new Error('401 Unauthorized');
    });
    const attempt = withDigest(
      tagged,
      [webEu],
      { registry: r.port, log: recordingLog().log },
      'a git tag names the image by tag only',
    );
    await expect(attempt).rejects.toThrow(DigestUnresolvedError);
    await expect(attempt).rejects.toThrow(
      'could not resolve the digest of dockerhub image acme/web:1.4.0 (a git tag names the image by tag only), so nothing was deployed: 401 Unauthorized. ' +
        'Coconut deploys images by digest; once the registry answers, push the tag again or run `coconut deploy web-eu 1.4.0 --digest sha256:…`',
    );
  });

  it('tells a thrown non-Error as text, and says SERVICE when no service is known', async () => {
    const r = registry(() => Promise.reject('socket hang up'));
    await expect(withDigest(tagged, [], { registry: r.port, log: recordingLog().log }, 'why')).rejects.toThrow(
      'so nothing was deployed: socket hang up. Coconut deploys images by digest; once the registry answers, push the tag again or run `coconut deploy SERVICE 1.4.0 --digest sha256:…`',
    );
  });

  it('refuses an answer that is not a digest, quoting at most 80 characters of it', async () => {
    const { log, lines } = recordingLog();
    const long = `<html>${'x'.repeat(200)}`;
    const attempt = withDigest(tagged, [web], { registry: registry(() => long).port, log }, 'why');
    await expect(attempt).rejects.toThrow(DigestUnresolvedError);
    await expect(attempt).rejects.toThrow(
      `could not resolve the digest of dockerhub image acme/web:1.4.0 (why), so nothing was deployed: the registry answered ${JSON.stringify(long.slice(0, 80))}, not a digest (expected sha256:<64 hex>)`,
    );
    await expect(withDigest(tagged, [web], { registry: registry(() => 'sha256:abc').port, log }, 'why')).rejects.toThrow(
      'the registry answered "sha256:abc", not a digest',
    );
    expect(lines).toEqual([]);
  });
});
