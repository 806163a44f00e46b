/**
 * One HTTP request exactly as given, through node:http: Host, Origin and Sec-Fetch-Site can be
 * forged (fetch sets or forbids some of them), and no header is added but Content-Length.
 */
import { request } from 'node:http';

export interface RawAnswer {
  status: number;
  text: string;
  body: { error?: string } & Record<string, unknown>;
}

export function rawRequest(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: target,
        // Host only as given (an absent Host stays absent).
        setHost: false,
        headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: RawAnswer['body'] = {};
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = {};
          }
          resolve({ status: res.statusCode ?? 0, text, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
