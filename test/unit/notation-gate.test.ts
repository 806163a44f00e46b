/**
 * The Notation half of the signed-image gate as a step (runSignatureGate with verify.notation) on
 * the real Store adapter over dynalite: what the e2e test (test/e2e/notation-gate.test.ts) cannot
 * reach — a runtime without a signature reader, a registry that cannot be read, a policy whose
 * roots are not certificates, and the clock the gate judges validity by. Signatures are made as
 * `notation sign` stores them (test/support/notation.ts, Notary Project specs); the ImageSignatures
 * ports here are fakes that answer stored envelopes or fail, said in each test's name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../src/aws/dynamo/store.ts';
import { runSignatureGate } from '../../src/core/pipeline/signature-gate.ts';
import { type ImageSignatures, type StoredNotationSignature, silentNotifier } from '../../src/core/ports.ts';
import type { LocalDynamo } from '../../src/local/local-dynamodb.ts';
import { notationEnvelope, notationPki } from '../support/notation.ts';
import { memoryLog } from '../support/runtime.ts';
import { dynaliteStore } from '../support/stores.ts';

let store: DynamoStore;
let dynamo: LocalDynamo;
beforeAll(async () => {
  ({ store, dynamo } = await dynaliteStore());
}, 60_000);
afterAll(() => dynamo?.stop());

const pki = notationPki();
const DIGEST = `sha256:${'d'.repeat(64)}`;
const IDENTITY = 'x509.subject: C=US, ST=WA, O=wabbit-networks.io';
let ids = 0;

async function gate(signatures: ImageSignatures | undefined, now = new Date(), trustedRoots = pki.rootPem) {
  const deploymentId = `notation-${++ids}`;
  const at = new Date().toISOString();
  await store.createDeployment(
    {
      deploymentId,
      service: 'api',
      version: '1.0.0',
      image: { registry: 'ghcr', repository: 'org/api', tag: '1.0.0', digest: DIGEST },
      trigger: { kind: 'ecr-push', id: 'e', at },
      environments: ['staging'],
      createdAt: at,
      kind: 'deploy',
    },
    [
      {
        deploymentId,
        service: 'api',
        environment: 'staging',
        order: 0,
        version: '1.0.0',
        state: 'PENDING',
        createdAt: at,
        updatedAt: at,
      },
    ],
  );
  const ref = { deploymentId, service: 'api', version: '1.0.0', environment: 'staging' };
  const result = await runSignatureGate(
    { store, clock: { now: () => now }, log: memoryLog(), notifier: silentNotifier, signatures },
    ref,
    { notation: { trustedRoots, identities: [IDENTITY] } },
  );
  return { result, reason: (await store.getStage(deploymentId, 'staging'))?.reason };
}

const answering = (found: StoredNotationSignature[]): ImageSignatures => ({
  cosignSignatures: async () => [],
  notationSignatures: async () => found,
});

describe('Signed-image gate with Notation: the step', () => {
  it('passes a signed digest (fake port answering a stored envelope)', async () => {
    const envelope = await notationEnvelope(pki, DIGEST);
    const { result } = await gate(answering([{ manifestDigest: 'sha256:sig', mediaType: 'application/jose+json', envelope }]));
    expect(result).toEqual({ passed: true, digest: DIGEST });
  });

  it('judges certificate validity by the gate clock: a year on, the 10-day leaf has expired', async () => {
    const envelope = await notationEnvelope(pki, DIGEST);
    const later = new Date(Date.now() + 365 * 86_400_000);
    const { result, reason } = await gate(
      answering([{ manifestDigest: 'sha256:sig', mediaType: 'application/jose+json', envelope }]),
      later,
    );
    expect(result.passed).toBe(false);
    expect(reason).toMatch(/is not signed as verify\.notation requires: certificate .*CN=net-monitor is not valid now/);
  });

  it('refuses, naming the digest, when the runtime has no reader, the registry fails (fake port), or the roots are not certificates', async () => {
    expect((await gate(undefined)).reason).toBe(
      `ghcr image org/api@${DIGEST} cannot be verified: this runtime has no registry client for ghcr signatures; refused, an unverified image is never deployed as signed`,
    );
    const failing: ImageSignatures = {
      cosignSignatures: async () => [],
      notationSignatures: () => Promise.reject(new Error('127.0.0.1 answered HTTP 503')),
    };
    expect((await gate(failing)).reason).toBe(
      `ghcr image org/api@${DIGEST}: its Notation signatures (referrers) could not be fetched: 127.0.0.1 answered HTTP 503`,
    );
    expect((await gate(answering([]), new Date(), 'not a certificate')).reason).toBe(
      `ghcr image org/api@${DIGEST} cannot be verified: verify.notation.trustedRoots holds no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`,
    );
  });
});
