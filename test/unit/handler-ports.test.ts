/**
 * How handlers get their ports (src/core/handler-ports.ts): built once on first use and shared by
 * later invocations, built again after a failed cold start, and with the webhook secrets their
 * function reads added on top of what the provider gives.
 */
import { describe, expect, it } from 'vitest';
import { memoize, type Ports, withSecrets } from '../../src/core/handler-ports.ts';

/** Only the fields these tests look at: the providers pass the object through untouched. */
const portsWith = (fields: Partial<Ports>) => fields as Ports;

describe('Function: memoize', () => {
  it('builds nothing until asked, then once for every later call', async () => {
    let builds = 0;
    const built = portsWith({});
    const provider = memoize(async () => {
      builds += 1;
      return built;
    });
    expect(builds).toBe(0);
    const [a, b] = await Promise.all([provider(), provider()]);
    expect(await provider()).toBe(built);
    expect(a).toBe(built);
    expect(b).toBe(built);
    expect(builds).toBe(1);
  });

  it('a failed build is not kept: the next call builds again', async () => {
    let builds = 0;
    const built = portsWith({});
    const provider = memoize(async () => {
      builds += 1;
      if (builds === 1) throw new Error('secrets not readable yet');
      return built;
    });
    await expect(provider()).rejects.toThrow('secrets not readable yet');
    expect(await provider()).toBe(built);
    expect(await provider()).toBe(built);
    expect(builds).toBe(2);
  });
});

describe('Function: withSecrets', () => {
  it('adds the secrets read to those the ports carry, the read ones winning, read once', async () => {
    let reads = 0;
    const store = { name: 'store' } as unknown as Ports['store'];
    const provider = withSecrets(
      async () => portsWith({ store, secrets: { githubWebhookSecret: 'from-ports', dockerhubToken: 'hub-token' } }),
      () => {
        reads += 1;
        return { githubWebhookSecret: 'from-env' };
      },
    );
    expect(reads).toBe(0);
    const ports = await provider();
    expect(ports.store).toBe(store);
    expect(ports.secrets).toEqual({ githubWebhookSecret: 'from-env', dockerhubToken: 'hub-token' });
    expect(await provider()).toBe(ports);
    expect(reads).toBe(1);
  });

  it('works when the ports carry no secrets, and retries after a read that failed', async () => {
    let reads = 0;
    const provider = withSecrets(
      async () => portsWith({}),
      () => {
        reads += 1;
        if (reads === 1) throw new Error('no secret yet');
        return { dockerhubToken: 't' };
      },
    );
    await expect(provider()).rejects.toThrow('no secret yet');
    expect((await provider()).secrets).toEqual({ dockerhubToken: 't' });
  });
});
