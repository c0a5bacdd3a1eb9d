/**
 * A small closed-loop load generator: `concurrency` workers over keep-alive sockets, each sending its next
 * request as soon as the previous answer is read, for a fixed duration. Latency is per request, measured
 * from write to the end of the body. (autocannon would do this too, but it is not installed here.)
 */
import http from 'node:http';

export interface RequestSpec {
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface LoadResult {
  requests: number;
  errors: number;
  /** First unexpected status and body, to say what went wrong. */
  firstError?: string;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  /** CPU time (µs) the server process used during the run, when the caller measured it. */
  serverCpuMicros?: number;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export async function runLoad(opts: {
  baseUrl: string;
  concurrency: number;
  seconds: number;
  /**
   * Builds the n-th request (n counts from 0 across all workers); `worker` is the connection's index, and its own
   * requests are sequential (each is sent after the previous answer), so per-worker state can model one client.
   */
  next: (n: number, worker: number) => RequestSpec;
  /** Which statuses count as success (default 2xx). */
  ok?: (status: number) => boolean;
  /** Called with each successful response body (e.g. to collect created ids). */
  onBody?: (body: string, status: number) => void;
}): Promise<LoadResult> {
  const base = new URL(opts.baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const ok = opts.ok ?? ((s: number) => s >= 200 && s < 300);
  const latencies: number[] = [];
  let n = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const end = started + opts.seconds * 1000;

  const send = (spec: RequestSpec): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...spec.headers };
      if (spec.body !== undefined) headers['content-length'] = Buffer.byteLength(spec.body);
      const req = http.request(
        { agent, host: base.hostname, port: base.port, method: spec.method, path: spec.path, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(spec.body);
    });

  const worker = async (_: unknown, w: number) => {
    while (performance.now() < end) {
      const spec = opts.next(n++, w);
      const t0 = performance.now();
      try {
        const r = await send(spec);
        const dt = performance.now() - t0;
        if (ok(r.status)) {
          latencies.push(dt);
          opts.onBody?.(r.body, r.status);
        } else {
          errors++;
          firstError ??= `${spec.method} ${spec.path} → ${r.status} ${r.body.slice(0, 300)}`;
        }
      } catch (e) {
        errors++;
        firstError ??= `${spec.method} ${spec.path} → ${(e as Error).message}`;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const mean = latencies.length ? latencies.reduce((a, b) => a + b, 0) / latencies.length : NaN;
  return {
    requests: latencies.length,
    errors,
    ...(firstError ? { firstError } : {}),
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean,
  };
}
