/**
 * fast-check arbitraries for fuzzing the HTTP surface: path parameters, header values and bodies,
 * random ones and ones shaped like what each route really takes. Tags never match the tag
 * patterns of the test configurations, so a fuzzed request that starts an execution is a hole.
 */
import fc from 'fast-check';

/** Matches no tagPattern of the test configurations (test/support/runtime.ts, webhooks.ts). */
const TAG_LIKE = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$|^latest$|^simple-tag$/;

export const notTag = fc
  .oneof(
    fc.constantFrom('', '1.0', '1.0.0;rm -rf /', '$(id)', '../1.0.0', '1.0.0\n', 'LATEST', '1.0.0 '),
    fc.string({ maxLength: 40 }),
  )
  .filter((t) => !TAG_LIKE.test(t));

/** Header values Node can send: visible ASCII and spaces, no CR/LF. */
export const header = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });

export function routeKeys(keys: string[]): string[] {
  return [...new Set(keys)];
}

const segment = fc.oneof(
  fc.constantFrom(
    'demo-api',
    'staging',
    'prod',
    'deploy',
    'release',
    'apr-0123456789',
    'demo-api-staging-health',
    'test-dockerhub-token',
    '..',
    '%2e%2e',
    '%2F',
    '%00',
    '%ZZ',
    '%E0%A4%A',
    '%',
  ),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.stringMatching(/^[A-Za-z0-9._~-]{1,30}$/),
);

/** A path for a route key: its parameters filled with random segments (some malformed); sometimes any path. */
export function pathFor(key: string): fc.Arbitrary<string> {
  const [, pattern] = key.split(' ') as [string, string];
  const parts = pattern.split(/(\{[^}]+\})/).filter(Boolean);
  const filled = fc.tuple(...parts.map((p) => (p.startsWith('{') ? segment : fc.constant(p)))).map((ps) => ps.join(''));
  return fc.oneof(
    { weight: 6, arbitrary: filled },
    { weight: 1, arbitrary: fc.array(segment, { maxLength: 4 }).map((s) => `/${s.join('/')}`) },
    { weight: 1, arbitrary: filled.map((p) => `${p}/`) },
    // Targets that are not plain paths: protocol-relative, absolute (proxy style), asterisk-form.
    {
      weight: 1,
      arbitrary: fc.oneof(
        filled.map((p) => `/${p}`),
        filled.map((p) => `http://evil.example${p}`),
        fc.constantFrom('*', '//%00', '//['),
      ),
    },
  );
}

const service = fc.oneof(fc.constantFrom('demo-api', 'hub-api', 'nope'), fc.string({ maxLength: 20 }));
const environment = fc.oneof(fc.constantFrom('staging', 'prod'), fc.string({ maxLength: 20 }));

const ecrEntry = fc.record({
  Source: fc.oneof(fc.constantFrom('aws.ecr', 'aws.cloudwatch', 'coconut'), fc.string({ maxLength: 20 })),
  DetailType: fc.oneof(fc.constantFrom('ECR Image Action', 'CloudWatch Alarm State Change'), fc.string({ maxLength: 30 })),
  Detail: fc.oneof(
    fc
      .record({
        'action-type': fc.constantFrom('PUSH', 'DELETE'),
        result: fc.constantFrom('SUCCESS', 'FAILURE'),
        'repository-name': service,
        'image-tag': notTag,
        'image-digest': fc.option(fc.string({ maxLength: 80 }), { nil: undefined }),
      })
      .map((d) => JSON.stringify(d)),
    fc
      .record({
        alarmName: fc.oneof(fc.constantFrom('demo-api-staging-health'), fc.string({ maxLength: 20 })),
        state: fc.record({ value: fc.constantFrom('ALARM', 'OK', 'INSUFFICIENT_DATA') }),
      })
      .map((d) => JSON.stringify(d)),
    fc.string({ maxLength: 100 }),
    fc.anything(),
  ),
});

function shaped(key: string): fc.Arbitrary<unknown> | undefined {
  switch (key) {
    case 'POST /events':
      return fc.record({ Entries: fc.oneof(fc.array(ecrEntry, { maxLength: 12 }), fc.anything()) }, { requiredKeys: [] });
    case 'POST /api/deployments':
      return fc.record(
        {
          service,
          version: notTag,
          environments: fc.array(environment, { maxLength: 3 }),
          digest: fc.string({ maxLength: 80 }),
          requestId: fc.string({ maxLength: 70 }),
        },
        { requiredKeys: ['service', 'version'] },
      );
    case 'POST /api/rollbacks':
      return fc.record(
        { service, environment, to: notTag, requestId: fc.string({ maxLength: 70 }) },
        { requiredKeys: ['service'] },
      );
    case 'POST /api/promotions':
      return fc.record(
        { service, to: environment, from: environment, version: notTag, requestId: fc.string({ maxLength: 70 }) },
        { requiredKeys: ['service'] },
      );
    case 'POST /api/pins':
      return fc.record(
        { service, environment, version: notTag, reason: fc.string({ maxLength: 600 }) },
        { requiredKeys: ['service', 'environment'] },
      );
    case 'POST /api/unpins':
      return fc.record(
        { service, environment, comment: fc.string({ maxLength: 600 }) },
        { requiredKeys: ['service', 'environment'] },
      );
    case 'POST /api/approvals/{id}/approve':
    case 'POST /api/approvals/{id}/reject':
      return fc.record({ comment: fc.string({ maxLength: 200 }) }, { requiredKeys: [] });
    case 'POST /api/alarms/{name}':
      return fc.record({
        state: fc.oneof(fc.constantFrom('ALARM', 'OK', 'INSUFFICIENT_DATA', 'auto'), fc.anything()),
        reason: fc.anything(),
      });
    case 'POST /webhooks/github':
      return fc.record({
        ref: notTag.map((t) => `refs/tags/${t}`),
        repository: fc.record({ full_name: fc.string() }),
        after: fc.string(),
      });
    case 'POST /webhooks/dockerhub/{token}':
      return fc.record({
        push_data: fc.record({ tag: notTag }),
        repository: fc.record({ repo_name: fc.string({ maxLength: 30 }) }),
      });
    default:
      return undefined;
  }
}

/** A body for a route: random text, random JSON, NDJSON lines, a form, or one shaped like the route's own. */
export function bodyFor(key: string): fc.Arbitrary<string | undefined> {
  const own = shaped(key);
  const options: fc.Arbitrary<string | undefined>[] = [
    fc.constant(undefined),
    fc.constant(''),
    fc.string({ maxLength: 300 }),
    fc.json({ maxDepth: 3 }),
    fc.array(fc.json({ maxDepth: 2 }), { maxLength: 5 }).map((lines) => lines.join('\n')),
    fc.string({ maxLength: 100 }).map((p) => `payload=${encodeURIComponent(p)}`),
  ];
  if (own)
    options.push(
      own.map((v) => JSON.stringify(v)),
      own.map((v) => JSON.stringify(v)),
    );
  return fc.oneof(...options);
}
