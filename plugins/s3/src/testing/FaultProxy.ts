import { createServer, request as forward, type IncomingMessage } from 'node:http';

/** What the proxy does to one request instead of passing it through unchanged. */
export type Fault =
  { kind: 'status'; status: 500 | 503 } | { kind: 'reset' } | { kind: 'truncate'; afterBytes: number } | { kind: 'delay'; ms: number };

export interface FaultProxy {
  endpoint: string;
  /** Faults injected so far, by kind. */
  injected: Record<string, number>;
  /** Every request seen, as `METHOD path`. */
  requests: string[];
  /** Body bytes passed through so far, each way; the caller may reset them. */
  traffic: { fromClient: number; toClient: number };
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of an S3 server. Requests go through unchanged (Host included, so SigV4
 * signatures stay valid) unless `plan` picks a fault for them: an S3 error status, a reset connection,
 * a response body cut after some bytes, or a delay before the answer.
 */
export async function startFaultProxy(
  target: number,
  plan: (request: IncomingMessage, sequence: number) => Fault | undefined,
): Promise<FaultProxy> {
  const injected: Record<string, number> = {};
  const requests: string[] = [];
  const traffic = { fromClient: 0, toClient: 0 };
  const server = createServer((request, response) => {
    const sequence = requests.push(`${request.method} ${request.url}`);
    const fault = plan(request, sequence);
    if (fault)
      injected[fault.kind === 'status' ? String(fault.status) : fault.kind] =
        (injected[fault.kind === 'status' ? String(fault.status) : fault.kind] ?? 0) + 1;
    if (fault?.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      request.resume();
      request.once('end', () => {
        const code = fault.status === 503 ? 'SlowDown' : 'InternalError';
        response.writeHead(fault.status, { 'content-type': 'application/xml', connection: 'close' });
        response.end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>injected by the test proxy</Message></Error>`,
        );
      });
      return;
    }
    const upstream = forward(
      { host: '127.0.0.1', port: target, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        const pass = () => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.on('data', (chunk: Buffer) => (traffic.toClient += chunk.length));
          if (fault?.kind !== 'truncate') {
            answer.pipe(response);
            return;
          }
          let sent = 0;
          answer.on('data', (chunk: Buffer) => {
            if (sent >= fault.afterBytes) return;
            const piece = chunk.subarray(0, fault.afterBytes - sent);
            sent += piece.length;
            response.write(piece);
            if (sent >= fault.afterBytes) {
              answer.destroy();
              setTimeout(() => response.socket?.destroy(), 20);
            }
          });
          answer.on('end', () => response.end());
        };
        if (fault?.kind === 'delay') setTimeout(pass, fault.ms);
        else pass();
      },
    );
    upstream.on('error', () => response.socket?.destroy());
    request.on('data', (chunk: Buffer) => (traffic.fromClient += chunk.length));
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    injected,
    requests,
    traffic,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
