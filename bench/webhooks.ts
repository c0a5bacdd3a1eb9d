/**
 * Webhook delivery, measured (issue 12 "npm run bench"): delivery throughput to a local receiver (events/s) and
 * the time from a SCIM 2xx to the webhook's arrival (p50/p99) at steady load, on the store DATABASE_URL names.
 *
 *   npm run bench registers benchWebhooks (bench/run.ts); alone: npx tsx bench/webhooks.ts [--events 2000]
 *     [--rate 40] [--seconds 10] [--out docs/benchmarks.md]   (DATABASE_URL as for npm run bench;
 *     BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server)
 *
 * The server runs from the compiled build in its own process, as in production (`node …/main.js`), with its own
 * delivery worker; the receiver and the load generator run in this process.
 * - Throughput: the endpoint exists, N users are created over SCIM while the server's worker is off
 *   (WEBHOOKS_ENABLED=false), then the server restarts with it on and fans out and delivers the backlog. Events/s
 *   is counted from the first delivery to the last. Baseline, same run: the same bodies POSTed straight to the
 *   receiver by a plain keep-alive client with the worker's concurrency, the ceiling of what any sender gets here.
 * - Latency: creates at a steady rate (open loop: each request is due at a fixed time, not when the previous one
 *   returned); for each, from its 201 reaching the client to its user.created reaching the receiver.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { settingsFrom, WebhookService } from '../src/events/webhook-service.js';
import { TenantService } from '../src/service/tenants.js';
import { createStore } from '../src/store/index.js';
import { compileChildren } from './children.js';
import { percentile } from './load.js';
import { describeMachine, loadNote } from './machine.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface WebhookBenchOptions {
  databaseUrl: string;
  store: 'sqlite' | 'postgres';
  storeDetail: string;
  log?: (line: string) => void;
  /** Backlog size for the throughput run (default 2000). */
  events?: number;
  /** Creates per second in the latency run (default 40) and its length (default 10 s). */
  rate?: number;
  seconds?: number;
  /** Markdown file to write the section into (its "Webhooks" part for this store); omitted = not written. */
  out?: string;
  /** Compile the server first (npm run bench has already; alone it must). */
  compile?: boolean;
}

export interface WebhookBenchResult {
  events: number;
  eventsPerSecond: number;
  baselinePerSecond: number;
  serverCpuMsPerEvent: number;
  latency: { samples: number; p50: number; p99: number; max: number; scimP50: number };
  rate: number;
  seconds: number;
  section: string;
}

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

/** Linux: a process's CPU time so far (user + system), in ms. */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

interface Receiver {
  url: string;
  arrivals: Map<string, number>;
  count: number;
  firstAt: number;
  lastAt: number;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    arrivals: new Map(),
    count: 0,
    firstAt: NaN,
    lastAt: NaN,
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      try {
        const e = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          type?: string;
          data?: { id?: string };
        };
        if (e.type === 'user.created' && e.data?.id && !r.arrivals.has(e.data.id))
          r.arrivals.set(e.data.id, at);
      } catch {
        /* the baseline's bodies are events too; anything else is counted only */
      }
      r.count++;
      if (Number.isNaN(r.firstAt)) r.firstAt = at;
      r.lastAt = at;
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  r.close = () =>
    new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    });
  return r;
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/** The compiled server (`node .bench-build/src/main.js`), ready when /readyz answers. */
async function startServer(
  databaseUrl: string,
  env: Record<string, string>,
): Promise<{ proc: ChildProcess; url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const main = join(root, '.bench-build/src/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: compileChildren() first`);
  const proc = spawn(
    process.execPath,
    [...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), main],
    {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: url,
        RATE_LIMIT_PER_MINUTE: '0',
        LOG_LEVEL: 'warn',
        WEBHOOKS_ALLOW_PRIVATE: 'true',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const exited = new Promise<void>((ok) => proc.once('exit', () => ok()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error('the bench server exited before it was ready');
    try {
      const r = await fetch(`${url}/readyz`);
      await r.arrayBuffer();
      if (r.status === 200) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error('the bench server was not ready within 60 s');
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return {
    proc,
    url,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

async function createUser(
  agent: http.Agent,
  tenantUrl: string,
  token: string,
  userName: string,
): Promise<{ status: number; id?: string }> {
  const body = JSON.stringify({ schemas: [CORE_USER], userName, active: true });
  return new Promise((ok, fail) => {
    const req = http.request(
      `${tenantUrl}/Users`,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/scim+json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          ok({
            status: res.statusCode ?? 0,
            id: res.statusCode === 201 ? (JSON.parse(text) as { id: string }).id : undefined,
          });
        });
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

/** POSTs `bodies` to the receiver with `concurrency` keep-alive connections; returns requests/s. */
async function rawPosts(url: string, bodies: string[], concurrency: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        await new Promise<void>((ok, fail) => {
          const req = http.request(
            url,
            {
              method: 'POST',
              agent,
              headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
            },
            (res) => {
              res.resume();
              res.on('end', () => ok());
            },
          );
          req.on('error', fail);
          req.end(body);
        });
      }
    }),
  );
  agent.destroy();
  return bodies.length / ((performance.now() - started) / 1000);
}

const fmt = (n: number, d = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
    : '–';

export async function benchWebhooks(o: WebhookBenchOptions): Promise<WebhookBenchResult> {
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const events = o.events ?? 2000;
  const rate = o.rate ?? 40;
  const seconds = o.seconds ?? 10;
  if (o.compile) {
    log('webhooks: compiling the server (tsconfig.bench.json)…');
    compileChildren();
  }
  const receiver = await startReceiver();
  const store = createStore(o.databaseUrl);
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  try {
    await store.migrate();
    const config = loadConfig({ WEBHOOKS_ALLOW_PRIVATE: 'true' });
    const tenants = new TenantService(store, 'http://placeholder');
    const t = await tenants.createTenant(`webhooks-bench-${randomBytes(3).toString('hex')}`);
    await new WebhookService(store, settingsFrom(config)).create({
      url: receiver.url,
      tenant: t.id,
      types: 'user.created',
      description: 'bench',
    });

    // ---- throughput: a backlog written with the worker off, then delivered --------------------------------
    log(`webhooks (${o.store}): writing ${events} users with the delivery worker off…`);
    server = await startServer(o.databaseUrl, { WEBHOOKS_ENABLED: 'false' });
    let tenantUrl = `${server.url}/scim/${t.id}/v2`;
    let made = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (made < events) {
          const i = made++;
          const r = await createUser(agent, tenantUrl, t.token, `backlog-${i}@bench.example.com`);
          if (r.status !== 201) throw new Error(`create answered ${r.status}`);
        }
      }),
    );
    await server.stop();
    server = await startServer(o.databaseUrl, {});
    tenantUrl = `${server.url}/scim/${t.id}/v2`;
    const cpuBefore = cpuMs(server.proc.pid!);
    const deadline = Date.now() + 600_000;
    while (receiver.arrivals.size < events && Date.now() < deadline)
      await new Promise((ok) => setTimeout(ok, 50));
    if (receiver.arrivals.size < events)
      throw new Error(`only ${receiver.arrivals.size} of ${events} delivered`);
    const eventsPerSecond = (events - 1) / ((receiver.lastAt - receiver.firstAt) / 1000);
    const serverCpuMsPerEvent = (cpuMs(server.proc.pid!) - cpuBefore) / events;
    log(
      `  delivered ${events} events: ${eventsPerSecond.toFixed(0)}/s, server CPU ${serverCpuMsPerEvent.toFixed(2)} ms/event`,
    );
    const sample = JSON.stringify({
      id: 'evt_bench',
      type: 'user.created',
      data: { id: 'x'.repeat(36) },
      pad: 'y'.repeat(700),
    });
    const baselinePerSecond = await rawPosts(
      receiver.url,
      Array.from({ length: events }, () => sample),
      config.webhooks.concurrency,
    );
    log(`  baseline: plain keep-alive POSTs to the same receiver: ${baselinePerSecond.toFixed(0)}/s`);

    // ---- latency at steady load ----------------------------------------------------------------------------
    log(`webhooks (${o.store}): ${rate} creates/s for ${seconds} s, SCIM 201 → webhook arrival…`);
    const answered = new Map<string, number>();
    const scimMs: number[] = [];
    const total = Math.round(rate * seconds);
    const t0 = performance.now() + 200;
    await Promise.all(
      Array.from({ length: total }, async (_, i) => {
        const due = t0 + (i * 1000) / rate;
        await new Promise((ok) => setTimeout(ok, Math.max(0, due - performance.now())));
        const sent = performance.now();
        const r = await createUser(agent, tenantUrl, t.token, `steady-${i}@bench.example.com`);
        const at = performance.now();
        if (r.status === 201 && r.id) {
          answered.set(r.id, at);
          scimMs.push(at - sent);
        }
      }),
    );
    const wait = Date.now() + 60_000;
    while ([...answered.keys()].some((id) => !receiver.arrivals.has(id)) && Date.now() < wait)
      await new Promise((ok) => setTimeout(ok, 50));
    const lat = Float64Array.from(
      [...answered].map(([id, at]) => (receiver.arrivals.get(id) ?? NaN) - at),
    ).sort();
    const scim = Float64Array.from(scimMs).sort();
    const latency = {
      samples: lat.length,
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      max: lat[lat.length - 1] ?? NaN,
      scimP50: percentile(scim, 50),
    };
    log(
      `  latency p50 ${latency.p50.toFixed(0)} ms, p99 ${latency.p99.toFixed(0)} ms, max ${latency.max.toFixed(0)} ms (${latency.samples} samples)`,
    );

    const m = describeMachine();
    const section = [
      `### Webhooks: ${o.store === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`,
      '',
      `Measured ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} by bench/webhooks.ts · store: ${o.storeDetail} · ` +
        `${m.nproc} CPUs (${m.cpuModel}), Node ${m.node} · server from the compiled build with the default ` +
        `WEBHOOKS_* settings (poll 250 ms, concurrency 16) · receiver answering 204 at once, in the bench process · ` +
        `${loadNote()}.`,
      '',
      '| measure | value |',
      '|---|--:|',
      `| delivery throughput (backlog of ${fmt(events)} user.created, fan-out + delivery) | ${fmt(eventsPerSecond)} events/s |`,
      `| baseline: plain keep-alive POSTs of a 0.8 KB body to the same receiver, same concurrency | ${fmt(baselinePerSecond)} req/s |`,
      `| throughput ÷ baseline | ${(eventsPerSecond / baselinePerSecond).toFixed(2)}× |`,
      `| server CPU per delivered event (fan-out, claim, sign, send, record) | ${serverCpuMsPerEvent.toFixed(2)} ms |`,
      `| SCIM 201 → webhook arrival, p50 (${rate} creates/s for ${seconds} s, ${latency.samples} samples) | ${fmt(latency.p50)} ms |`,
      `| SCIM 201 → webhook arrival, p99 | ${fmt(latency.p99)} ms |`,
      `| SCIM 201 → webhook arrival, max | ${fmt(latency.max)} ms |`,
      `| for scale: the create's own latency, p50 | ${latency.scimP50.toFixed(1)} ms |`,
      '',
    ].join('\n');
    if (o.out) writeWebhooksSection(resolve(o.out), o.store, section);
    return {
      events,
      eventsPerSecond,
      baselinePerSecond,
      serverCpuMsPerEvent,
      latency,
      rate,
      seconds,
      section,
    };
  } finally {
    agent.destroy();
    await server?.stop();
    await store.close();
    await receiver.close();
  }
}

/** Replaces this store's part of the "Webhooks" section (markers), creating the section when missing. */
export function writeWebhooksSection(file: string, store: 'sqlite' | 'postgres', section: string): void {
  const start = `<!-- webhooks:${store}:start -->`;
  const end = `<!-- webhooks:${store}:end -->`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const block = `${start}\n${section}\n${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else {
    if (!text.includes('\n## Webhooks\n')) text = `${text.replace(/\s*$/, '')}\n\n## Webhooks\n`;
    const other = text.indexOf(`<!-- webhooks:${store === 'sqlite' ? 'postgres' : 'sqlite'}:start -->`);
    // SQLite first, as in the rest of the page.
    if (store === 'sqlite' && other >= 0) text = `${text.slice(0, other)}${block}\n\n${text.slice(other)}`;
    else text = `${text.replace(/\s*$/, '')}\n\n${block}\n`;
  }
  writeFileSync(file, text);
}

// Alone: DATABASE_URL as for npm run bench (postgres:// → a scratch database on that server; else SQLite).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '2000' },
      rate: { type: 'string', default: '40' },
      seconds: { type: 'string', default: '10' },
      out: { type: 'string', default: 'docs/benchmarks.md' },
    },
  });
  const env = process.env.DATABASE_URL;
  let url: string;
  let storeDetail: string;
  let drop = async () => undefined as void;
  if (env && /^postgres(ql)?:\/\//i.test(env)) {
    const name = `joyn_bench_wh_${randomBytes(4).toString('hex')}`;
    const c = new pg.Client({ connectionString: env });
    await c.connect();
    const version = (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]
      ?.server_version;
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    const u = new URL(env);
    u.pathname = `/${name}`;
    url = u.toString();
    storeDetail = `PostgreSQL ${version ?? '?'} (scratch database, pool 10)`;
    drop = async () => {
      const d = new pg.Client({ connectionString: env });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'joyn-bench-wh-'));
    url = env ?? join(dir, 'bench.db');
    storeDetail = 'SQLite temporary file (WAL, synchronous=FULL)';
    drop = async () => rmSync(dir, { recursive: true, force: true });
  }
  try {
    const r = await benchWebhooks({
      databaseUrl: url,
      store: /^postgres/i.test(url) ? 'postgres' : 'sqlite',
      storeDetail,
      events: Number(values.events),
      rate: Number(values.rate),
      seconds: Number(values.seconds),
      out: values.out!,
      compile: true,
    });
    process.stdout.write(`${r.section}\n`);
  } finally {
    await drop();
  }
}
