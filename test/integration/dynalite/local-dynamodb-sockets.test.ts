/**
 * The local DynamoDB keeps idle keep-alive sockets open. With Node's default
 * server.keepAliveTimeout (5 s, Node docs "http: server.keepAliveTimeout"), the server closes a
 * socket the SDK is about to reuse; on a busy machine that race made store calls fail with
 * ECONNRESET / "socket hang up" (the load bench lost deployments to it).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startLocalDynamo } from '../../../src/local/local-dynamodb.ts';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startLocalDynamo(undefined);
});
afterAll(() => dynamo?.stop());

function listTables(agent: http.Agent): Promise<{ status: number; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${dynamo.endpoint}/`,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          authorization:
            'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
          'x-amz-date': '20260101T000000Z',
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

describe('Local DynamoDB server', () => {
  it('keeps an idle keep-alive socket open past the 5 s default of Node (plus the 1 s buffer Node 22 adds)', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await listTables(agent)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 7_500));
      expect(await listTables(agent)).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  }, 20_000);
});
