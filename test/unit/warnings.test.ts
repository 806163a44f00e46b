/**
 * What `coconut validate` and `coconut dev` tell the owner of a valid coconut.yaml
 * (src/core/config/warnings.ts): the whole sentences, since a user reads them as written.
 * Single-service cases are in target-config.test.ts (Copilot), scan-gate.test.ts (scan) and
 * four-eyes.test.ts (fourEyes on ECR).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { configWarnings } from '../../src/core/config/warnings.ts';

const service = (name: string, registry: string, target: string, environments: string) => `
  - name: ${name}
    image: { registry: ${registry}, repository: octo/${name} }
    target: ${target}
    environments: ${environments}`;

const config = (...services: string[]) => parseConfig(`services:${services.join('')}\n`);

describe('Function: configWarnings', () => {
  it('names every Copilot service in one notice, in the plural', () => {
    const warnings = configWarnings(
      config(
        service('web', 'ecr', '{ kind: copilot, app: shop }', '[{ name: prod }]'),
        service('api', 'ecr', '{ kind: helm }', '[{ name: prod }]'),
        service('jobs', 'ecr', '{ kind: copilot, app: shop }', '[{ name: prod }]'),
      ),
    );
    expect(warnings).toEqual([
      'AWS ended support for the Copilot CLI on 2026-06-12 (web, jobs deploy with it). ' +
        'Its services keep running and Coconut keeps deploying them, but the CLI gets no more fixes: ' +
        'move to `target.kind: ecs`, which deploys the same ECS service through the ECS API (`coconut generate ecs --service NAME`).',
    ]);
  });

  it('names every environment with scan: of an image ECR cannot scan, in the plural', () => {
    const scanned = '[{ name: staging, scan: {} }, { name: qa }, { name: prod, scan: { maxSeverity: LOW } }]';
    expect(configWarnings(config(service('web', 'dockerhub', '{ kind: helm }', scanned)))).toEqual([
      'web: scan: is set for staging, prod, but its image is in dockerhub, and on AWS Coconut scans only ECR images (ECR image scanning): ' +
        'every deployment of web to staging, prod will be refused at the scan gate there (the local runtime scans it with trivy). ' +
        'Push the image to ECR, or remove scan: from those environments.',
    ]);
  });

  it('names service/environment for each ECR environment with fourEyes, and only those', () => {
    const approval = (fourEyes: boolean) => `approval: { approvers: [U1], fourEyes: ${fourEyes} }`;
    const warnings = configWarnings(
      config(
        service('web', 'ecr', '{ kind: helm }', `[{ name: staging, ${approval(false)} }, { name: prod, ${approval(true)} }]`),
        service('api', 'ghcr', '{ kind: helm }', `[{ name: prod, ${approval(true)} }]`),
        service('jobs', 'ecr', '{ kind: helm }', `[{ name: qa }, { name: prod, ${approval(true)} }]`),
      ),
    );
    expect(warnings).toEqual([
      'fourEyes is on for web/prod, jobs/prod, whose images come from ECR: an ECR push event names no user, so a deployment a push starts cannot be approved there ' +
        '(Coconut cannot show the approver is not who pushed). Start those deployments with `coconut deploy` (or the dashboard), which records who asked, and let another approver approve.',
    ]);
  });

  it('says each thing once, Copilot first, and nothing for a plain configuration', () => {
    const warnings = configWarnings(
      config(
        service('web', 'ghcr', '{ kind: copilot, app: shop }', '[{ name: prod, scan: {} }]'),
        service('api', 'ecr', '{ kind: helm }', '[{ name: prod, approval: { approvers: [U1], fourEyes: true } }]'),
      ),
    );
    expect(warnings.map((w) => w.slice(0, 20))).toEqual(['AWS ended support fo', 'web: scan: is set fo', 'fourEyes is on for a']);
    expect(configWarnings(config(service('api', 'ecr', '{ kind: helm }', '[{ name: prod, scan: {} }]')))).toEqual([]);
  });
});

const withVerify = (registry: string) => `
services:
  - name: api
    image: { registry: ${registry}, repository: org/api }
    target: { kind: helm }
    environments: [{ name: staging }]
    verify:
      cosign: { key: cosign.pub }
`;

describe('Config warnings: verify on an ECR image', () => {
  it('says at validate/start that an ECR service with verify: is checked on AWS only, and nothing for GHCR', () => {
    const ecr = parseConfig(withVerify('ecr'));
    expect(configWarnings(ecr)).toEqual([
      'api: verify: is set on an ECR image: deployed on AWS, Coconut reads its signatures from ECR; the local runtime (npm start) has no ECR credentials and refuses its deployments at the signature gate.',
    ]);
    expect(configWarnings(parseConfig(withVerify('ghcr')))).toEqual([]);
  });
});
