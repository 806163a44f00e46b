/**
 * coconut.yaml's `verify:` (src/core/config/schema.ts): cosign with a public key is accepted;
 * keyless cosign and Notation (AWS Signer) have their place in the file and are refused, saying
 * they are not supported yet, rather than read as typos or silently skipped.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import type { ConfigError } from '../../src/core/model/errors.ts';
import { buildPlan } from '../../src/core/triggers/plan.ts';
import { cosignKeys } from '../support/cosign.ts';

const PEM = cosignKeys().publicPem;
const indent = (text: string, by: string) => text.trim().split('\n').join(`\n${by}`);

const withVerify = (verify: string) => `
services:
  - name: api
    image: { registry: ghcr, repository: org/api, pullSecret: ghcr-pull }
    target: { kind: helm }
    environments:
      - { name: staging }
      - { name: prod }
    verify:
      ${verify}
`;

function errorOf(text: string): ConfigError {
  try {
    parseConfig(text, 'conf.yaml');
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected the config to be rejected');
}

describe('Config: verify (signed-image gate)', () => {
  it('takes a cosign public key written in the file, and every environment of the plan carries it', () => {
    const config = parseConfig(withVerify(`cosign:\n        key: |\n          ${indent(PEM, '          ')}`));
    const service = config.services[0];
    if (!service) throw new Error('no service');
    expect(service.verify).toEqual({ cosign: { key: PEM } });
    const plan = buildPlan(service, {
      registry: 'ghcr',
      repository: 'org/api',
      tag: '1.0.0',
      digest: `sha256:${'a'.repeat(64)}`,
    });
    expect(plan.environments.map((e) => e.verify)).toEqual([
      { cosign: { key: PEM }, pullSecret: 'ghcr-pull' },
      { cosign: { key: PEM }, pullSecret: 'ghcr-pull' },
    ]);
  });

  it('refuses keyless cosign and notation as not supported yet, and an empty verify', () => {
    const keyless = errorOf(
      withVerify(
        'cosign: { identity: "https://github.com/org/api/.github/workflows/release.yml@refs/heads/main", issuer: "https://token.actions.githubusercontent.com" }',
      ),
    );
    expect(keyless.issues).toEqual([
      expect.objectContaining({
        path: 'services[0].verify.cosign',
        message:
          'keyless cosign verification ({ identity, issuer }) is not supported yet: use cosign: { key: <PEM public key or path> }',
      }),
    ]);
    const notation = errorOf(
      withVerify('notation: { signingProfileArn: "arn:aws:signer:eu-west-1:123456789012:/signing-profiles/release" }'),
    );
    expect(notation.issues).toEqual([
      expect.objectContaining({
        path: 'services[0].verify.notation',
        message: 'notation (AWS Signer) verification is not supported yet: use cosign: { key: <PEM public key or path> }',
      }),
    ]);
    expect(errorOf(withVerify('{}')).issues[0]?.message).toBe(
      'expected cosign: { key: ... } (the public key the image must be signed with)',
    );
  });

  it('refuses a key that is neither PEM nor a relative path', () => {
    const error = errorOf(withVerify('cosign: { key: "../keys/cosign.pub" }'));
    expect(error.issues[0]?.message).toContain(
      'expected a PEM public key ("-----BEGIN PUBLIC KEY-----...", what `cosign generate-key-pair` writes',
    );
  });
});
