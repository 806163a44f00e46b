/**
 * AWS SDK clients, built once per process. `endpoint` points them at a local emulator
 * (dynalite, moto_server); on Lambda everything comes from the environment.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface ClientOptions {
  region?: string;
  endpoint?: string;
  /** Static credentials for emulators; never for real AWS. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts?: number;
}

/** Adaptive retry: backs off on throttling and retries transient failures with jitter. */
export function sdkConfig(options: ClientOptions = {}) {
  return {
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    retryMode: 'adaptive' as const,
    maxAttempts: options.maxAttempts ?? 5,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    // Many concurrent executions in one local process share the client: allow more sockets
    // than the default 50 so requests do not queue behind each other.
    requestHandler: { httpAgent: { keepAlive: true, maxSockets: 256 }, httpsAgent: { keepAlive: true, maxSockets: 256 } },
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
}

export function documentClient(options: ClientOptions = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(sdkConfig(options)), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
