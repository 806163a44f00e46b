/**
 * The local DynamoDB: dynalite on a loopback port, persisted under <dataDir>/dynamodb, with
 * Coconut's table created from the same definition as on AWS. The store code talking to it is
 * the AWS adapter itself.
 */
import { EventEmitter } from 'node:events';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { sdkConfig } from '../aws/clients.ts';
import { tableDefinition } from '../aws/table.ts';
import { privateDir } from './private-files.ts';

export const LOCAL_TABLE = 'coconut';
export const EMULATOR_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface LocalDynamo {
  endpoint: string;
  stop(): Promise<void>;
  /** Serves again on the same port and data after `stop` (fault tests: a store outage that ends). */
  start(): Promise<void>;
}

export async function startLocalDynamo(dataDir: string | undefined): Promise<LocalDynamo> {
  // LevelDB writes its files with the default modes: the directory is what keeps them private.
  const dbDir = dataDir ? privateDir(path.join(dataDir, 'dynamodb')) : undefined;
  // Requests being answered. dynalite closes its database once the HTTP server has closed; a request
  // cut off mid-way (closeAllConnections) would go on to its next database operation and throw
  // "Database is closed" where nobody can catch it. So stop() lets them finish first.
  const inFlight = new Set<ServerResponse>();
  const drained = new EventEmitter();
  const open = (port: number) => {
    const server: Server = dynalite({
      ...(dbDir ? { path: dbDir } : {}),
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    });
    // One process runs hundreds of executions against this server, on a machine that may be busy.
    // Node closes a keep-alive socket after 5 s idle (server.keepAliveTimeout), racing the SDK
    // that reuses it: requests fail with ECONNRESET / "socket hang up" (the SDK's TimeoutError)
    // under load. On loopback the client's agent closes its own sockets; the server keeps them,
    // and sets no header or request deadline (a slow event loop is not a slow client).
    server.keepAliveTimeout = 0;
    server.headersTimeout = 0;
    server.requestTimeout = 0;
    server.on('request', (_req, res) => {
      inFlight.add(res);
      res.once('close', () => {
        inFlight.delete(res);
        if (inFlight.size === 0) drained.emit('drained');
      });
    });
    return new Promise<Server>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  };
  let server: Server | undefined = await open(0);
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  await ensureTable(endpoint, LOCAL_TABLE);
  return {
    endpoint,
    stop: () => {
      const running = server;
      server = undefined;
      if (!running) return Promise.resolve();
      return new Promise<void>((resolve) => {
        running.close(() => resolve());
        // No new connections from here on; idle ones close at once, busy ones once their request is answered.
        const cut = () => running.closeAllConnections?.();
        if (inFlight.size === 0) cut();
        else drained.once('drained', cut);
      });
    },
    start: async () => {
      if (server) return;
      server = await open(port);
    },
  };
}

export async function ensureTable(endpoint: string, table: string): Promise<void> {
  const client = new DynamoDBClient(sdkConfig({ endpoint, credentials: EMULATOR_CREDENTIALS, region: 'us-east-1' }));
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException) && (error as Error).name !== 'ResourceNotFoundException') throw error;
    await client.send(new CreateTableCommand(tableDefinition(table)));
    await untilActive(client, table);
  } finally {
    client.destroy();
  }
}

/**
 * dynalite answers CreateTable with the table CREATING and makes it ACTIVE on a timer (createTableMs,
 * 0 here) followed by a LevelDB write; until then every item request gets ResourceNotFoundException
 * (node_modules/dynalite/db/index.js getTable: CREATING counts as not found), as DynamoDB itself
 * does until a new table is ACTIVE. On a busy machine the first write came before it. The SDK's
 * waitUntilTableExists waits at least a second between looks; this waits a few milliseconds.
 */
async function untilActive(client: DynamoDBClient, table: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline)
      throw new Error(`local DynamoDB: table ${table} still ${Table?.TableStatus} 30 s after it was created`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
