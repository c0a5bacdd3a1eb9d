/**
 * A real local HTTP receiver for webhook tests: it keeps every request (headers and the raw body, byte for byte)
 * and answers what the test tells it to (default 200).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: any;
  /** Order of arrival (0-based). */
  n: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Requests being answered right now. */
  inFlight(): number;
  /** Most requests ever in flight at once. */
  maxInFlight(): number;
  answer: (r: Received) => Answer | Promise<Answer>;
  /** Resolves when `n` requests have arrived (or rejects after timeoutMs). */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  let active = 0;
  let peak = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      active++;
      peak = Math.max(peak, active);
      const raw = Buffer.concat(chunks);
      let body: any;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = undefined;
      }
      const r: Received = { headers: req.headers, raw, body, n: received.length };
      received.push(r);
      for (const w of waiters.filter((w) => received.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      try {
        const a = await receiver.answer(r);
        if (a.delayMs) await new Promise((x) => setTimeout(x, a.delayMs));
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? '');
      } catch {
        res.destroy();
      } finally {
        active--;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    received,
    inFlight: () => active,
    maxInFlight: () => peak,
    answer: () => ({ status: 200, body: 'ok' }),
    waitFor: (n, timeoutMs = 30_000) =>
      received.length >= n
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const t = setTimeout(
              () =>
                reject(
                  new Error(`receiver got ${received.length} requests, not ${n}, within ${timeoutMs} ms`),
                ),
              timeoutMs,
            );
            waiters.push({
              n,
              resolve: () => {
                clearTimeout(t);
                resolve();
              },
            });
          }),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return receiver;
}
