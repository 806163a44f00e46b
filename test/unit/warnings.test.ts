/** Config warnings (src/core/config/warnings.ts) about the signed-image gate. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config/load.ts';
import { configWarnings } from '../../src/core/config/warnings.ts';

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
  it('says at validate/start that an ECR service with verify: will be refused, and nothing for GHCR', () => {
    const ecr = parseConfig(withVerify('ecr'));
    expect(configWarnings(ecr)).toEqual([
      'api: verify: is set, but its image is in ECR, and reading cosign signatures from ECR is not supported yet: every deployment of api will be refused at the signature gate. Use a GHCR or Docker Hub image, or remove verify:.',
    ]);
    expect(configWarnings(parseConfig(withVerify('ghcr')))).toEqual([]);
  });
});
