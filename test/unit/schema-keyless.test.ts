/**
 * verify.cosign keyless in coconut.yaml: the schema takes what `cosign verify` takes
 * (--certificate-identity or --certificate-identity-regexp, and --certificate-oidc-issuer or
 * --certificate-oidc-issuer-regexp: exactly one of each, sigstore/cosign cmd/cosign/cli/options/
 * certificate.go), plans carry it, the loader reads verify.cosign.trustedRoot from a path, and
 * `sst deploy` (infra/config.ts) gives the functions a coconut.yaml with the files it names inline
 * — each function is bundled with that one file (infra/functions.ts copyFiles).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deployConfig } from '../../infra/config.ts';
import { loadConfigFile, parseConfig } from '../../src/core/config/load.ts';
import type { ConfigError } from '../../src/core/model/errors.ts';
import { buildPlan } from '../../src/core/triggers/plan.ts';
import { cosignKeys } from '../support/cosign.ts';

const IDENTITY = 'https://github.com/org/api/.github/workflows/release.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';
const withCosign = (cosign: string) => `
services:
  - name: api
    image: { registry: ghcr, repository: org/api }
    target: { kind: helm }
    environments: [{ name: staging }, { name: prod }]
    verify:
      cosign: ${cosign}
`;

function issuesOf(text: string) {
  try {
    parseConfig(text, 'conf.yaml');
  } catch (error) {
    return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the config to be rejected');
}

const dir = mkdtempSync(path.join(tmpdir(), 'coconut-keyless-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Config: keyless cosign', () => {
  it('takes an identity and issuer, and every environment of the plan carries them', () => {
    const service = parseConfig(withCosign(`{ identity: "${IDENTITY}", issuer: "${ISSUER}" }`)).services[0];
    if (!service) throw new Error('no service');
    const plan = buildPlan(service, {
      registry: 'ghcr',
      repository: 'org/api',
      tag: '1.0.0',
      digest: `sha256:${'a'.repeat(64)}`,
    });
    expect(plan.environments.map((e) => e.verify)).toEqual([
      { cosign: { identity: IDENTITY, issuer: ISSUER } },
      { cosign: { identity: IDENTITY, issuer: ISSUER } },
    ]);
  });

  it('takes regexps for either', () => {
    const service = parseConfig(withCosign('{ identityRegexp: "^https://github\\\\.com/org/", issuerRegexp: "github" }'))
      .services[0];
    expect(service?.verify).toEqual({ cosign: { identityRegexp: '^https://github\\.com/org/', issuerRegexp: 'github' } });
  });

  it('wants exactly one of identity/identityRegexp and of issuer/issuerRegexp, and regexps that compile', () => {
    expect(issuesOf(withCosign(`{ identity: "${IDENTITY}" }`))).toEqual([
      'services[0].verify.cosign: expected exactly one of issuer or issuerRegexp: its OIDC issuer (--certificate-oidc-issuer)',
    ]);
    expect(issuesOf(withCosign(`{ identity: "${IDENTITY}", identityRegexp: "x", issuer: "${ISSUER}" }`))).toEqual([
      'services[0].verify.cosign.identityRegexp: expected exactly one of identity or identityRegexp: the identity that must have signed (the certificate SAN, --certificate-identity); both are set',
    ]);
    expect(issuesOf(withCosign(`{ identityRegexp: "(", issuer: "${ISSUER}" }`))[0]).toMatch(
      /^services\[0\]\.verify\.cosign\.identityRegexp: not a valid regular expression: /,
    );
    expect(issuesOf(withCosign(`{ identity: "${IDENTITY}", issuer: token.actions.githubusercontent.com }`))).toEqual([
      'services[0].verify.cosign.issuer: expected the OIDC issuer URL, e.g. https://token.actions.githubusercontent.com (or issuerRegexp for a pattern)',
    ]);
    expect(issuesOf(withCosign(`{ identity: "${IDENTITY}", issuer: "${ISSUER}", trustedRoot: "../root.json" }`))[0]).toContain(
      'expected a path to a Sigstore trusted_root.json relative to coconut.yaml',
    );
  });

  it('reads verify.cosign.trustedRoot from a file relative to coconut.yaml, saying why when it cannot', async () => {
    const file = path.join(dir, 'coconut.yaml');
    writeFileSync(file, withCosign(`{ identity: "${IDENTITY}", issuer: "${ISSUER}", trustedRoot: sigstore/trusted_root.json }`));
    mkdirSync(path.join(dir, 'sigstore'), { recursive: true });
    await expect(loadConfigFile(file)).rejects.toThrow(
      `services[0].verify.cosign.trustedRoot: cannot read the Sigstore trusted root sigstore/trusted_root.json (relative to ${file}): file not found`,
    );
    writeFileSync(path.join(dir, 'sigstore/trusted_root.json'), '{ not json');
    await expect(loadConfigFile(file)).rejects.toThrow(/trusted_root\.json \(relative to .*\): not JSON/);
    writeFileSync(
      path.join(dir, 'sigstore/trusted_root.json'),
      '{\n  "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"\n}\n',
    );
    const loaded = await loadConfigFile(file);
    expect(loaded.services[0]?.verify).toEqual({
      cosign: {
        identity: IDENTITY,
        issuer: ISSUER,
        trustedRoot: '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}',
      },
    });
  });
});

describe('sst deploy: files named by coconut.yaml travel inline to the functions', () => {
  it('a cosign key given as a path reaches a function that gets coconut.yaml alone', async () => {
    const root = mkdtempSync(path.join(dir, 'project-'));
    const pem = cosignKeys().publicPem;
    writeFileSync(path.join(root, 'cosign.pub'), pem);
    writeFileSync(
      path.join(root, 'coconut.yaml'),
      `# the team's services\n${withCosign('{ key: cosign.pub }')}  - name: web\n    image: { registry: ghcr, repository: org/web }\n    target: { kind: helm }\n    environments: [{ name: staging }]\n    verify:\n      cosign: { identity: "${IDENTITY}", issuer: "${ISSUER}", trustedRoot: root.json }\n`,
    );
    writeFileSync(path.join(root, 'root.json'), '{ "mediaType": "x" }');
    const deploy = await deployConfig(root);
    expect(deploy.file).toBe(path.join('.sst', 'coconut.bundled.yaml'));
    const bundled = readFileSync(path.join(root, deploy.file), 'utf8');
    expect(bundled).toContain("# the team's services");
    // What a Lambda has: the bundled file copied as coconut.yaml into a folder of its own.
    const lambda = mkdtempSync(path.join(dir, 'lambda-'));
    cpSync(path.join(root, deploy.file), path.join(lambda, 'coconut.yaml'));
    const seen = await loadConfigFile(path.join(lambda, 'coconut.yaml'));
    expect(seen.services[0]?.verify).toEqual({ cosign: { key: pem } });
    expect(seen.services[1]?.verify).toEqual({
      cosign: { identity: IDENTITY, issuer: ISSUER, trustedRoot: '{"mediaType":"x"}' },
    });
  });

  it('a coconut.yaml that names no file is deployed as it is', async () => {
    const root = mkdtempSync(path.join(dir, 'plain-'));
    writeFileSync(path.join(root, 'coconut.yaml'), withCosign(`{ identity: "${IDENTITY}", issuer: "${ISSUER}" }`));
    expect((await deployConfig(root)).file).toBe('coconut.yaml');
  });
});
