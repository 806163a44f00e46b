/**
 * `verify.notation` in coconut.yaml: shaped after a Notation trust store and trust policy
 * (notaryproject/specifications specs/trust-store-trust-policy.md: trustedIdentities
 * `x509.subject:` with at least C, ST and O, or `*`; AWS Signer's trust policy names the signing
 * profile ARN instead), the roots read from a file beside coconut.yaml, and carried into every
 * environment of the plan.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../src/core/config/load.ts';
import type { ConfigError } from '../../src/core/model/errors.ts';
import { buildPlan } from '../../src/core/triggers/plan.ts';
import { notationPki } from '../support/notation.ts';

const ROOT = notationPki().rootPem;
const PROFILE = 'arn:aws:signer:eu-west-1:123456789012:/signing-profiles/release';
const dir = mkdtempSync(path.join(tmpdir(), 'coconut-notation-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const withNotation = (notation: string) => `
services:
  - name: api
    image: { registry: ecr, repository: org/api }
    target: { kind: helm }
    environments: [{ name: staging }, { name: prod }]
    verify:
      notation: ${notation}
`;

function issues(text: string) {
  try {
    parseConfig(text, 'conf.yaml');
  } catch (error) {
    return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the config to be rejected');
}

describe('Config: verify.notation', () => {
  it('reads trustedRoots from a file beside coconut.yaml, and every environment of the plan carries the policy', async () => {
    writeFileSync(path.join(dir, 'ca.pem'), ROOT);
    const file = path.join(dir, 'coconut.yaml');
    writeFileSync(file, withNotation('{ trustedRoots: ca.pem, identities: ["x509.subject: C=US, ST=WA, O=example.com"] }'));
    const config = await loadConfigFile(file);
    const service = config.services[0];
    if (!service) throw new Error('no service');
    expect(service.verify).toEqual({
      notation: { trustedRoots: ROOT, identities: ['x509.subject: C=US, ST=WA, O=example.com'] },
    });
    const plan = buildPlan(service, { registry: 'ecr', repository: 'org/api', tag: '1', digest: `sha256:${'a'.repeat(64)}` });
    expect(plan.environments.map((e) => e.verify)).toEqual([
      { notation: { trustedRoots: ROOT, identities: ['x509.subject: C=US, ST=WA, O=example.com'] } },
      { notation: { trustedRoots: ROOT, identities: ['x509.subject: C=US, ST=WA, O=example.com'] } },
    ]);
  });

  it('takes an AWS Signer signing profile as the identity', () => {
    const config = parseConfig(withNotation(`{ trustedRoots: roots/aws-signer.pem, signingProfileArn: "${PROFILE}" }`));
    expect(config.services[0]?.verify?.notation).toEqual({ trustedRoots: 'roots/aws-signer.pem', signingProfileArn: PROFILE });
  });

  it('names what is wrong: no identity, both kinds, an incomplete subject, "*" among others, a bad ARN, a missing file', async () => {
    expect(issues(withNotation('{ trustedRoots: ca.pem }'))).toEqual([
      'services[0].verify.notation: expected identities: ["x509.subject: C=.., ST=.., O=.."] (your own CA) or signingProfileArn: (AWS Signer)',
    ]);
    expect(issues(withNotation(`{ trustedRoots: ca.pem, identities: ["*"], signingProfileArn: "${PROFILE}" }`))).toEqual([
      'services[0].verify.notation.identities: expected identities: or signingProfileArn:, not both: with AWS Signer the signing profile is the identity (as in its Notation trust policy)',
    ]);
    expect(issues(withNotation('{ trustedRoots: ca.pem, identities: ["x509.subject: C=US, O=example.com"] }'))).toEqual([
      'services[0].verify.notation.identities[0]: trusted identity "x509.subject: C=US, O=example.com" lacks ST: the Notary Project requires at least C, ST and O',
    ]);
    expect(issues(withNotation('{ trustedRoots: ca.pem, identities: ["*", "x509.subject: C=US, ST=WA, O=x"] }'))).toEqual([
      'services[0].verify.notation.identities: "*" must be the only identity when it is used',
    ]);
    expect(issues(withNotation('{ trustedRoots: ca.pem, identities: ["CN=me"] }'))[0]).toContain(
      'expected "x509.subject: C=<country>, ST=<state>, O=<organization>[, OU=.., CN=..]" or "*"',
    );
    expect(issues(withNotation('{ trustedRoots: ca.pem, signingProfileArn: "arn:aws:iam::123456789012:role/x" }'))[0]).toContain(
      'expected an AWS Signer signing profile ARN',
    );
    expect(issues(withNotation('{ trustedRoots: "../ca.pem", identities: ["*"] }'))[0]).toContain(
      'expected PEM certificate(s) ("-----BEGIN CERTIFICATE-----...", e.g. the AWS Signer root certificate) or a path',
    );
    expect(issues(withNotation(`{ identities: ["*"], trustedRoots: ca.pem }\n      cosign: { key: cosign.pub }`))).toEqual([
      'services[0].verify: expected cosign: or notation:, not both (one signature kind per service)',
    ]);
    const file = path.join(dir, 'missing.yaml');
    writeFileSync(file, withNotation('{ trustedRoots: nowhere.pem, identities: ["*"] }'));
    await expect(loadConfigFile(file)).rejects.toThrow(
      `services[0].verify.notation.trustedRoots: cannot read the Notation trusted roots nowhere.pem (relative to ${file}): file not found`,
    );
  });
});
