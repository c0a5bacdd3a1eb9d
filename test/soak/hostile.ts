/**
 * The hostile soak (issue 10 "Proving it"): the real server in its own process on loopback, and a bounded stream
 * (at most `requests` requests and `seconds` seconds) of malformed, oversized and forged requests from a seeded
 * generator — broken JSON, wrong types, huge strings, deep nesting, invalid UTF-8, bad paths, filters and escapes,
 * another tenant's ids, missing, forged, revoked and expired tokens, slow and stalled bodies, malformed HTTP —
 * mixed with ordinary writes. Everything is sent as raw bytes over node:net, so nothing is tidied by a client.
 *
 * What it checks (each failure is a "violation" naming the request and the seed that reproduces it):
 * - no 5xx at all (no store contention here, so not even 503), and the server never logs an error;
 * - every 4xx is a SCIM error body (RFC 7644 §3.12) with the status in it; auth failures are 401 with
 *   `WWW-Authenticate: Bearer`; every request gets an answer unless it is one the server may cut off (a stalled
 *   body: 408 or a closed connection);
 * - tenant isolation with canary data: tenant B holds users and a group whose text carries a random marker; every
 *   request is sent as tenant A, anonymously or with a bad credential, and no response may contain B's marker or an
 *   id of B that the request did not itself carry; after the stream B's resources are byte-identical (same ETag)
 *   and B has no new resources; A's groups list none of B's users;
 * - the server still answers: health, readiness and an ordinary create/read/delete afterwards, same process;
 * - memory stays flat: after a warm-up (the first fifth of the stream), live heap after a full GC (and RSS) is
 *   measured, then again at the end; growth beyond the tolerance below is a violation.
 *
 * Used by test/soak/hostile-soak.test.ts (short form, both stores, in `npm test`) and test/soak/main.ts
 * (`npm run soak`, the long form).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { loadConfig } from '../../src/config.js';
import { openStore } from '../../src/store/open.js';
import { TenantService } from '../../src/service/tenants.js';
import { childEnv, freePort, ROOT } from '../ops/processes.js';

/**
 * Memory tolerance between the end of the warm-up and the end of the stream: live heap after a full GC may grow by
 * at most HEAP_TOLERANCE_BYTES plus 10 % of the warm-up figure; RSS by at most RSS_TOLERANCE_BYTES plus 25 %.
 * Caches that fill once (prepared statements, the verified-token cache, V8's compiled code) stay well inside;
 * a leak of even 1 KiB per request over the long form's 20,000 requests does not.
 */
export const HEAP_TOLERANCE_BYTES = 12 * 1024 * 1024;
export const RSS_TOLERANCE_BYTES = 96 * 1024 * 1024;

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
/**
 * The soak server's timeouts: short, so stalled requests are cut off inside the bounded run, yet long enough that a
 * server whose event loop is held up for a moment on a loaded machine (an fsync under SQLite's synchronous=FULL, a
 * GC) does not time out requests whose bytes are already waiting in the socket (Node checks the timers first).
 */
const HEADERS_TIMEOUT_MS = 4000;
const REQUEST_TIMEOUT_MS = 5000;

export interface SoakOptions {
  /** SQLite path or postgres://… (an empty database). */
  databaseUrl: string;
  seed: number;
  /** Upper bounds: the stream stops at whichever comes first. */
  requests: number;
  seconds: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Run dist/main.js (the compiled build) instead of src/main.ts under tsx. */
  compiled?: boolean;
  log?: (line: string) => void;
}

export interface MemorySample {
  heapUsed: number;
  rss: number;
}

export interface SoakReport {
  seed: number;
  requests: number;
  seconds: number;
  byKind: Record<string, number>;
  /** Total time waiting for answers, per kind of request. */
  msByKind: Record<string, number>;
  byStatus: Record<string, number>;
  violations: string[];
  memory: { afterWarmUp: MemorySample; atEnd: MemorySample };
}

// ---- a seeded generator ---------------------------------------------------------------------------------

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** A fast-check value drawn from this stream (so it is reproducible from the soak's seed). */
  sample<T>(arb: fc.Arbitrary<T>): T {
    return fc.sample(arb, { seed: this.int(2 ** 31), numRuns: 1 })[0]!;
  }
}

// ---- raw HTTP ----------------------------------------------------------------------------------------------

interface Attack {
  kind: string;
  method: string;
  /** The request-target exactly as sent (may hold anything a request line can carry). */
  target: string;
  headers: [string, string][];
  body?: Buffer;
  /** Whole request bytes for malformed HTTP (target/headers/body then only describe it). */
  raw?: Buffer;
  /** Send the body in this many pieces with pauses (a slow but complete client). */
  trickle?: number;
  /** Send only part of the body and then nothing: the server must cut the request off. */
  stall?: boolean;
  /** Statuses this request must get (besides the general rules). */
  expect?: readonly number[];
  /** The server may close the connection without an answer. */
  mayClose?: boolean;
  /** Not an attack: an ordinary request whose success matters (ids are collected from it). */
  onOk?: (body: any) => void;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

function requestBytes(a: Attack, host: string): Buffer {
  if (a.raw) return a.raw;
  const lines = [`${a.method} ${a.target} HTTP/1.1`, `Host: ${host}`, 'Connection: close'];
  for (const [k, v] of a.headers) lines.push(`${k}: ${v}`);
  if (a.body !== undefined && !a.headers.some(([k]) => /^(content-length|transfer-encoding)$/i.test(k)))
    lines.push(`Content-Length: ${a.body.length}`);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), a.body ?? Buffer.alloc(0)]);
}

/** Whether `all` holds a whole response (so the client need not wait for the server to close the connection). */
function complete(all: Buffer, method: string): boolean {
  const end = all.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const head = all.subarray(0, end).toString('latin1');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
  if (method === 'HEAD' || status === 204 || status === 304) return true;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  if (length !== undefined) return all.length - (end + 4) >= Number(length);
  if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) return all.subarray(end + 4).includes('0\r\n\r\n');
  return false;
}

function parseAnswer(all: Buffer): Answer | undefined {
  const end = all.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = all.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1]);
  if (!Number.isInteger(status)) return undefined;
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let body = all.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    let rest = body;
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) break;
      const size = parseInt(rest.subarray(0, nl).toString('latin1'), 16);
      if (!(size > 0)) break;
      parts.push(rest.subarray(nl + 2, nl + 2 + size));
      rest = rest.subarray(nl + 2 + size + 2);
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    body = body.subarray(0, Number(headers['content-length']));
  }
  return { status, headers, text: body.toString('utf8') };
}

/** Sends one attack on a fresh connection; resolves with the answer, or undefined if the server closed without one. */
function send(port: number, a: Attack): Promise<Answer | undefined> {
  const bytes = requestBytes(a, `127.0.0.1:${port}`);
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      socket.destroy();
      resolve(parseAnswer(Buffer.concat(received)));
    };
    // A client-side bound, far above the server's own timeouts: no answer by then is a hang.
    const guard = setTimeout(settle, 15_000);
    socket.on('data', (d: Buffer) => {
      received.push(d);
      if (complete(Buffer.concat(received), a.method)) settle();
    });
    socket.on('end', settle);
    socket.on('close', settle);
    // Writing after the server answered early (413, 401 before the body) may fail: the answer is what counts.
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      void (async () => {
        if (a.stall) {
          const headEnd = bytes.indexOf('\r\n\r\n') + 4;
          socket.write(bytes.subarray(0, headEnd + Math.floor((bytes.length - headEnd) / 2)));
          return; // …and nothing more: the server's REQUEST_TIMEOUT_MS must end it
        }
        if (a.trickle) {
          const headEnd = bytes.indexOf('\r\n\r\n') + 4;
          socket.write(bytes.subarray(0, headEnd));
          const body = bytes.subarray(headEnd);
          const step = Math.max(1, Math.ceil(body.length / a.trickle));
          for (let i = 0; i < body.length && !socket.destroyed; i += step) {
            await sleep(40);
            socket.write(body.subarray(i, i + step));
          }
          return;
        }
        socket.write(bytes);
      })();
    });
  });
}

// ---- the server process ---------------------------------------------------------------------------------

interface SoakServer {
  child: ChildProcess;
  url: string;
  port: number;
  output: () => string;
  memory(): Promise<MemorySample>;
  stop(): Promise<void>;
}

async function startSoakServer(databaseUrl: string, compiled: boolean): Promise<SoakServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const entry = compiled ? [join(ROOT, 'dist/main.js')] : ['--import', 'tsx', join(ROOT, 'src/main.ts')];
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', join(ROOT, 'test/soak/memory-probe.mjs'), ...entry],
    {
      cwd: ROOT,
      env: childEnv({
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: url,
        // The stream is thousands of requests a minute on one tenant: the per-tenant limit would answer most of
        // them 429 before they reach the code under test.
        RATE_LIMIT_PER_MINUTE: '0',
        HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
        REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
        LOG_LEVEL: 'warn',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (d: string) => {
    out += d;
    waiters.splice(0).forEach((w) => w());
  };
  child.stdout!.setEncoding('utf8').on('data', onData);
  child.stderr!.setEncoding('utf8').on('data', onData);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the soak server exited at start:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the soak server did not become ready:\n${out}`);
    }
    try {
      const r = await fetch(`${url}/readyz`);
      await r.arrayBuffer();
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return {
    child,
    url,
    port,
    output: () => out,
    async memory() {
      const seen = out.length;
      child.kill('SIGUSR2');
      for (let i = 0; i < 100; i++) {
        const m = /SOAK_MEMORY (\{.*\})\n/.exec(out.slice(seen));
        if (m) {
          const u = JSON.parse(m[1]!) as { heapUsed: number; rss: number };
          return { heapUsed: u.heapUsed, rss: u.rss };
        }
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      throw new Error('the server did not report its memory');
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

// ---- tenants and canaries -----------------------------------------------------------------------------

interface Ctx {
  a: { id: string; base: string; token: string };
  b: { id: string; base: string; token: string };
  revoked: string;
  expired: string;
  /** A string in every canary of B, sent in no request. */
  marker: string;
  bIds: string[];
  /** Users of B whose ids no request ever carries: seeing one anywhere is a leak. */
  bHidden: string[];
  bGroupId: string;
  aUserIds: string[];
  aGroupId: string;
  counter: number;
  /** B's ids that A itself has written into its own data (opaque member or manager values): A may read them back. */
  sentByA: Set<string>;
}

/** Tenants A and B with valid, revoked and expired tokens, made in the store before the server starts. */
async function makeTenants(databaseUrl: string) {
  const store = openStore(loadConfig({ NODE_ENV: 'test', DATABASE_URL: databaseUrl }));
  try {
    await store.migrate();
    const svc = new TenantService(store, 'http://unused');
    const tag = randomBytes(3).toString('hex');
    const a = await svc.createTenant(`soak-a-${tag}`);
    const b = await svc.createTenant(`soak-b-${tag}`);
    const revoked = await svc.issueToken(a.id);
    await svc.revokeToken(a.id, revoked.tokenId);
    const expired = await svc.issueToken(a.id, { expiresInMs: 1 });
    return { a, b, revoked: revoked.token, expired: expired.token };
  } finally {
    await store.close();
  }
}

async function http(
  port: number,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<Answer> {
  const r = await send(port, {
    kind: 'setup',
    method,
    target: path,
    headers: [
      ['Authorization', `Bearer ${token}`],
      ...(body === undefined ? [] : ([['Content-Type', 'application/scim+json']] as [string, string][])),
    ],
    ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)) }),
  });
  if (!r) throw new Error(`${method} ${path}: no answer`);
  return r;
}

async function snapshotB(port: number, ctx: Ctx): Promise<string[]> {
  const out: string[] = [];
  for (const id of ctx.bIds) {
    const r = await http(port, 'GET', `${ctx.b.base}/Users/${id}`, ctx.b.token);
    out.push(`${r.status} ${r.headers.etag} ${r.text}`);
  }
  const g = await http(port, 'GET', `${ctx.b.base}/Groups/${ctx.bGroupId}`, ctx.b.token);
  out.push(`${g.status} ${g.headers.etag} ${g.text}`);
  for (const rt of ['Users', 'Groups']) {
    const l = await http(port, 'GET', `${ctx.b.base}/${rt}?count=0`, ctx.b.token);
    out.push(`${rt} ${l.status} ${JSON.parse(l.text).totalResults}`);
  }
  return out;
}

// ---- the attacks --------------------------------------------------------------------------------------

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const scimJson: [string, string] = ['Content-Type', 'application/scim+json'];
const bearer = (t: string): [string, string] => ['Authorization', `Bearer ${t}`];
const enc = encodeURIComponent;

const FILTER_PIECES = [
  'userName',
  'emails[type eq "work"].value',
  'members',
  'id',
  '__proto__',
  'constructor',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value',
  ' eq ',
  ' co ',
  ' pr',
  ' and ',
  ' or ',
  'not (',
  '(',
  ')',
  '[',
  ']',
  '"x"',
  '"',
  '\\',
  'true',
  '1e999',
  '-0',
  ' ',
  'é',
  '\u0000',
];

/** Valid bodies the wrong-type and broken-JSON attacks start from. */
function validUser(ctx: Ctx, rng: Rng): Record<string, unknown> {
  return {
    schemas: [CORE_USER, ENTERPRISE],
    userName: `soak-${ctx.counter++}-${rng.int(1e9)}@a.example`,
    active: true,
    displayName: 'Soak User',
    name: { givenName: 'Soak', familyName: 'User' },
    emails: [{ value: 'soak@a.example', type: 'work', primary: true }],
    [ENTERPRISE]: { department: 'Field' },
  };
}
function validPatch(rng: Rng): Record<string, unknown> {
  return {
    schemas: [PATCH_OP],
    Operations: [
      rng.pick([
        { op: 'Replace', path: 'displayName', value: 'Renamed' },
        { op: 'add', value: { title: 'Tech', 'name.familyName': 'X' } },
        { op: 'remove', path: 'emails[type eq "work"]' },
        { op: 'replace', path: 'active', value: 'False' },
      ]),
    ],
  };
}

/** Sets a random place of a JSON value to something else (fast-check's JSON values, hostile keys). */
function mutate(rng: Rng, v: unknown, depth = 0): unknown {
  if (depth > 3 || v === null || typeof v !== 'object' || rng.chance(0.2))
    return rng.chance(0.5)
      ? rng.sample(fc.jsonValue({ maxDepth: 2 }))
      : rng.pick([null, 0, -1, 1e308, true, 'False', '', [], {}, [[]], { value: {} }]);
  if (Array.isArray(v)) {
    if (!v.length) return [mutate(rng, null, depth + 1)];
    const copy = [...v];
    copy[rng.int(copy.length)] = mutate(rng, copy[rng.int(copy.length)], depth + 1);
    return copy;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  const key = rng.chance(0.15)
    ? rng.pick(['__proto__', 'constructor', 'prototype', 'schemas', 'id', 'meta', 'Operations'])
    : rng.pick(keys.length ? keys : ['x']);
  // defineProperty, so a `__proto__` key is sent as an own key, as an attacker's JSON would carry it.
  const copy: Record<string, unknown> = {};
  for (const k of keys)
    Object.defineProperty(copy, k, { value: o[k], enumerable: true, writable: true, configurable: true });
  Object.defineProperty(copy, key, {
    value: mutate(rng, o[key], depth + 1),
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

type Generator = (rng: Rng, ctx: Ctx) => Attack;

const write = (kind: string, method: string, target: string, token: string, body: Buffer): Attack => ({
  kind,
  method,
  target,
  headers: [bearer(token), scimJson],
  body,
});

const GENERATORS: [number, Generator][] = [
  // Ordinary traffic: keeps A's data moving and shows the server keeps doing its job under the stream.
  [
    10,
    (rng, ctx) => {
      const a = ctx.a;
      switch (rng.int(4)) {
        case 0:
          return {
            ...write('ordinary', 'POST', `${a.base}/Users`, a.token, json(validUser(ctx, rng))),
            expect: [201],
            onOk: (b) => ctx.aUserIds.push(b.id),
          };
        case 1:
          return {
            ...write(
              'ordinary',
              'PATCH',
              `${a.base}/Users/${rng.pick(ctx.aUserIds)}`,
              a.token,
              json(validPatch(rng)),
            ),
            expect: [200, 204],
          };
        case 2:
          return {
            ...write(
              'ordinary',
              'PATCH',
              `${a.base}/Groups/${ctx.aGroupId}`,
              a.token,
              json({
                schemas: [PATCH_OP],
                Operations: [
                  {
                    op: rng.pick(['Add', 'Remove']),
                    path: 'members',
                    value: [{ value: rng.pick(ctx.aUserIds) }],
                  },
                ],
              }),
            ),
            expect: [200, 204],
          };
        default:
          return {
            kind: 'ordinary',
            method: 'GET',
            target: `${a.base}/Users?filter=${enc(`userName sw "soak-${rng.int(50)}"`)}&count=5`,
            headers: [bearer(a.token)],
            expect: [200],
          };
      }
    },
  ],
  // Broken JSON.
  [
    10,
    (rng, ctx) => {
      const text = JSON.stringify(rng.chance(0.5) ? validUser(ctx, rng) : validPatch(rng));
      // Not JSON at all (400 invalidSyntax), or JSON that is no SCIM body (any 4xx, judged by the general rules).
      const notJson = rng.chance(0.75);
      const broken = notJson
        ? rng.pick([
            () => text.slice(0, 1 + rng.int(text.length - 1)),
            () => text.replace(/,/, ',,'),
            () => text.replace(/"/, ''),
            () => text + '}',
            () => `${text.slice(0, -1)},}`,
            () => text.replace(/:/g, '='),
            () => "{'userName': 'x'}",
            () => '{"a":1}{"b":2}',
            () => '\uFEFF\uFEFF{}',
            () => '{"userName":"x\u0000"}',
            () => '{"userName": 1e99999',
            () => '{"userName":"\\x41"}',
          ])()
        : rng.pick(
            [
              'null',
              '[]',
              '"just a string"',
              '0',
              'true',
              '{"userName": 1e99999}',
              '{"userName":"\\ud800"}',
            ].map((x) => () => x),
          )();
      const [method, path] = rng.pick([
        ['POST', '/Users'],
        ['POST', '/Groups'],
        ['PUT', `/Users/${rng.pick(ctx.aUserIds)}`],
        ['PATCH', `/Users/${rng.pick(ctx.aUserIds)}`],
        ['PATCH', `/Groups/${ctx.aGroupId}`],
        ['POST', '/.search'],
        ['POST', '/Users/.search'],
      ] as const);
      const a = write('broken JSON', method, `${ctx.a.base}${path}`, ctx.a.token, Buffer.from(broken));
      return notJson ? { ...a, expect: [400] } : a;
    },
  ],
  // Wrong types and hostile keys in otherwise valid bodies.
  [
    12,
    (rng, ctx) => {
      const [method, path, body] = rng.pick([
        () => ['POST', '/Users', validUser(ctx, rng)] as const,
        () => ['PUT', `/Users/${rng.pick(ctx.aUserIds)}`, validUser(ctx, rng)] as const,
        () => ['PATCH', `/Users/${rng.pick(ctx.aUserIds)}`, validPatch(rng)] as const,
        () => ['POST', '/Groups', { schemas: [CORE_GROUP], displayName: `g${ctx.counter++}` }] as const,
        () =>
          [
            'PATCH',
            `/Groups/${ctx.aGroupId}`,
            { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'x' }] }] },
          ] as const,
        () => ['POST', '/.search', { schemas: [SEARCH], filter: 'userName pr', count: 1 }] as const,
      ])();
      const a = write('wrong types', method, `${ctx.a.base}${path}`, ctx.a.token, json(mutate(rng, body)));
      const onOk = method === 'POST' && path === '/Users' ? (b: any) => ctx.aUserIds.push(b.id) : undefined;
      return onOk ? { ...a, onOk } : a;
    },
  ],
  // Huge strings and oversized bodies.
  [
    4,
    (rng, ctx) => {
      const a = ctx.a;
      switch (rng.int(6)) {
        case 0:
          return {
            ...write(
              'huge',
              'POST',
              `${a.base}/Users`,
              a.token,
              json({ ...validUser(ctx, rng), userName: 'u'.repeat(70_000) }),
            ),
            expect: [400],
          };
        case 1:
          return {
            ...write(
              'huge',
              'POST',
              `${a.base}/Users`,
              a.token,
              json({ ...validUser(ctx, rng), displayName: 'd'.repeat(600) }),
            ),
            expect: [400],
          };
        case 2:
          return {
            ...write('huge', 'POST', `${a.base}/Users`, a.token, Buffer.alloc(2 * 1024 * 1024 + 10, 0x20)),
            expect: [413],
          };
        case 3:
          return {
            ...write(
              'huge',
              'POST',
              `${a.base}/Users`,
              a.token,
              json({
                ...validUser(ctx, rng),
                emails: Array.from({ length: 1001 }, (_, i) => ({ value: `e${i}@x` })),
              }),
            ),
            expect: [400],
          };
        case 4:
          return {
            ...write(
              'huge',
              'PATCH',
              `${a.base}/Groups/${ctx.aGroupId}`,
              a.token,
              json({
                schemas: [PATCH_OP],
                Operations: Array.from({ length: 1001 }, () => ({
                  op: 'replace',
                  path: 'displayName',
                  value: 'x',
                })),
              }),
            ),
            expect: [413],
          };
        default:
          return {
            kind: 'huge',
            method: 'GET',
            target: `${a.base}/Users?filter=${enc(`userName eq "${'é'.repeat(9000)}"`)}`,
            headers: [bearer(a.token)],
            expect: [400, 414],
          };
      }
    },
  ],
  // Deep nesting: JSON and filters.
  [
    5,
    (rng, ctx) => {
      const depth = rng.pick([33, 100, 5_000, 100_000]);
      if (rng.chance(0.6)) {
        const inner = rng.chance(0.5) ? nested(depth, '[', ']') : nested(depth, '{"a":', '}');
        return {
          ...write(
            'deep nesting',
            rng.pick(['POST', 'PATCH']),
            `${ctx.a.base}/${rng.chance(0.5) ? 'Users' : `Groups/${ctx.aGroupId}`}`,
            ctx.a.token,
            Buffer.from(`{"schemas":["${CORE_USER}"],"userName":${inner}}`),
          ),
          expect: [400],
        };
      }
      const f = rng.chance(0.5)
        ? nested(Math.min(depth, 3000), '(', ')', 'userName pr')
        : nested(Math.min(depth, 2000), 'not (', ')', 'userName pr');
      return {
        kind: 'deep nesting',
        method: 'GET',
        target: `${ctx.a.base}/Users?filter=${enc(f)}`,
        headers: [bearer(ctx.a.token)],
        expect: [400, 414],
      };
    },
  ],
  // Invalid UTF-8: in the body, the path and the query.
  [
    5,
    (rng, ctx) => {
      const bad = rng.pick([
        Buffer.from([0xff, 0xfe]),
        Buffer.from([0xc0, 0xaf]),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from([0xe2, 0x82]),
        Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
      ]);
      const where = rng.int(3);
      if (where === 0)
        return {
          ...write(
            'invalid UTF-8',
            'POST',
            `${ctx.a.base}/Users`,
            ctx.a.token,
            Buffer.concat([Buffer.from('{"userName":"'), bad, Buffer.from('"}')]),
          ),
          expect: [400],
        };
      const escaped = [...bad].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
      return {
        kind: 'invalid UTF-8',
        method: 'GET',
        target:
          where === 1
            ? `${ctx.a.base}/Users/${escaped}`
            : `${ctx.a.base}/Users?filter=${enc('userName eq "')}${escaped}%22`,
        headers: [bearer(ctx.a.token)],
        expect: [400],
      };
    },
  ],
  // Bad paths, escapes, query parameters and filters.
  [
    12,
    (rng, ctx) => {
      const base = ctx.a.base;
      const target = rng.pick([
        () => `${base}/Users/%ZZ`,
        () => `${base}/Users/%`,
        () => `${base}/Users/%00`,
        () => `${base}/Users/..%2F..%2Fadmin`,
        () => `${base}/Users/${'x'.repeat(101)}`,
        () => `${base}//Users`,
        () => `${base}/Users/a/b/c`,
        () => `${base}/Unknown`,
        () => `${base}/Users/__proto__`,
        () => `${base}/Users/constructor`,
        () => `/scim/%00/v2/Users`,
        () => `/scim/${'t'.repeat(200)}/v2/Users`,
        () => `/scim/__proto__/v2/Users`,
        () => `${base}/Users?startIndex=-1&count=abc`,
        () => `${base}/Users?count=1e309`,
        () => `${base}/Users?count=100000`,
        () => `${base}/Users?sortBy=constructor&sortOrder=sideways`,
        () => `${base}/Users?attributes=__proto__,constructor.prototype&excludedAttributes=%5B`,
        () =>
          `${base}/Users?filter=${enc(rng.sample(fc.array(fc.constantFrom(...FILTER_PIECES), { maxLength: 14 })).join(''))}`,
        () => `${base}/Groups?filter=${enc(rng.sample(fc.string({ unit: 'binary', maxLength: 30 })))}`,
        () => `${base}/Users?filter=${rng.sample(fc.string({ maxLength: 20 })).replace(/[^!-~]/g, '%41')}`,
        () => `${base}/Users?filter=userName%20eq%20%22a%22&filter=x`,
        () => `*`,
        () => `http://evil.example/scim`,
      ])();
      return {
        kind: 'bad path',
        method: rng.pick(['GET', 'GET', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']),
        target,
        headers: [bearer(ctx.a.token), scimJson],
        body: json(validPatch(rng)),
      };
    },
  ],
  // Another tenant's ids through tenant A.
  [
    14,
    (rng, ctx) => {
      const a = ctx.a;
      const bId = rng.pick(ctx.bIds);
      return rng.pick<() => Attack>([
        () => ({
          kind: 'cross-tenant',
          method: 'GET',
          target: `${a.base}/Users/${bId}`,
          headers: [bearer(a.token)],
          expect: [404],
        }),
        () => ({
          kind: 'cross-tenant',
          method: 'GET',
          target: `${a.base}/Groups/${ctx.bGroupId}`,
          headers: [bearer(a.token)],
          expect: [404],
        }),
        () => ({
          ...write('cross-tenant', 'PUT', `${a.base}/Users/${bId}`, a.token, json(validUser(ctx, rng))),
          expect: [404],
        }),
        () => ({
          ...write('cross-tenant', 'PATCH', `${a.base}/Users/${bId}`, a.token, json(validPatch(rng))),
          expect: [404],
        }),
        () => ({
          ...write(
            'cross-tenant',
            'PATCH',
            `${a.base}/Groups/${ctx.bGroupId}`,
            a.token,
            json({
              schemas: [PATCH_OP],
              Operations: [{ op: 'add', path: 'members', value: [{ value: rng.pick(ctx.aUserIds) }] }],
            }),
          ),
          expect: [404],
        }),
        () => ({
          kind: 'cross-tenant',
          method: 'DELETE',
          target: `${a.base}/Users/${bId}`,
          headers: [bearer(a.token)],
          expect: [404],
        }),
        () => ({
          kind: 'cross-tenant',
          method: 'DELETE',
          target: `${a.base}/Groups/${ctx.bGroupId}`,
          headers: [bearer(a.token)],
          expect: [404],
        }),
        () => ({
          kind: 'cross-tenant',
          method: 'GET',
          target: `${a.base}/Users?filter=${enc(`id eq "${bId}"`)}`,
          headers: [bearer(a.token)],
          expect: [200],
        }),
        () => ({
          kind: 'cross-tenant',
          method: 'GET',
          target: `${a.base}/Groups?filter=${enc(`members.value eq "${bId}"`)}`,
          headers: [bearer(a.token)],
          expect: [200],
        }),
        () => ({
          ...write(
            'cross-tenant',
            'POST',
            `${a.base}/.search`,
            a.token,
            json({ schemas: [SEARCH], filter: `userName co "${ctx.marker.slice(0, 3)}" or id eq "${bId}"` }),
          ),
          expect: [200],
        }),
        () => ({
          ...write(
            'cross-tenant',
            'PATCH',
            `${a.base}/Users/${rng.pick(ctx.aUserIds)}`,
            a.token,
            json({
              schemas: [PATCH_OP],
              Operations: [{ op: 'replace', path: `${ENTERPRISE}:manager`, value: bId }],
            }),
          ),
          // Kept but never rendered (it is no user of A: src/service/resources.ts checkManager); B is unaffected.
        }),
        // B's canary ids may not become members of A's groups: the service accepts opaque member ids, but B's
        // resources must stay unchanged and B's users must not show A's group (checked after the stream).
        () => ({
          ...write(
            'cross-tenant',
            'PATCH',
            `${a.base}/Groups/${ctx.aGroupId}`,
            a.token,
            json({
              schemas: [PATCH_OP],
              Operations: [{ op: 'add', path: 'members', value: [{ value: bId }] }],
            }),
          ),
        }),
        () => ({
          kind: 'cross-tenant',
          method: 'GET',
          target: `${ctx.b.base}/Users/${bId}`,
          headers: [bearer(a.token)],
          expect: [401],
        }),
        () => ({
          kind: 'cross-tenant',
          method: 'GET',
          target: `${ctx.b.base}/Users`,
          headers: [bearer(ctx.revoked)],
          expect: [401],
        }),
      ])();
    },
  ],
  // Missing, malformed, forged, revoked, expired and other tenants' tokens.
  [
    12,
    (rng, ctx) => {
      const auth = rng.pick<[string, string][]>([
        [],
        [['Authorization', 'Bearer']],
        [['Authorization', 'Bearer ']],
        [['Authorization', `Basic ${Buffer.from('a:b').toString('base64')}`]],
        [['Authorization', `Bearer jsk_${randomBytes(32).toString('base64url')}`]],
        [['Authorization', `Bearer ${ctx.a.token.slice(0, -1)}${ctx.a.token.endsWith('A') ? 'B' : 'A'}`]],
        [['Authorization', `Bearer ${ctx.a.token.toUpperCase()}`]],
        [['Authorization', `Bearer ${ctx.revoked}`]],
        [['Authorization', `Bearer ${ctx.expired}`]],
        [['Authorization', `Bearer ${ctx.b.token}`]],
        [['Authorization', `Bearer ${'x'.repeat(8000)}`]],
        [['Authorization', `Bearer ${ctx.a.token} extra`]],
        [
          ['Authorization', `Bearer ${ctx.a.token}`],
          ['Authorization', 'Bearer forged'],
        ],
      ]);
      const [method, path, body] = rng.pick([
        ['GET', '/Users', undefined],
        ['GET', `/Users/${rng.pick(ctx.aUserIds)}`, undefined],
        ['POST', '/Users', json(validUser(ctx, rng))],
        ['PATCH', `/Groups/${ctx.aGroupId}`, json(validPatch(rng))],
        ['DELETE', `/Users/${rng.pick(ctx.aUserIds)}`, undefined],
        ['GET', '/ServiceProviderConfig', undefined],
      ] as const);
      return {
        kind: 'bad token',
        method,
        target: `${ctx.a.base}${path}`,
        headers: body ? [...auth, scimJson] : auth,
        ...(body ? { body } : {}),
        expect: [401],
      };
    },
  ],
  // Slow clients: a body sent in pieces (answered normally) or one that stops half-way (cut off by the server).
  [
    2,
    (rng, ctx) => {
      const stall = rng.chance(0.4);
      return {
        ...write('slow body', 'POST', `${ctx.a.base}/Users`, ctx.a.token, json(validUser(ctx, rng))),
        ...(stall ? { stall: true, mayClose: true, expect: [408] } : { trickle: 4, expect: [201] }),
        ...(stall ? {} : { onOk: (b: any) => ctx.aUserIds.push(b.id) }),
      };
    },
  ],
  // Malformed HTTP and unusual methods.
  [
    4,
    (rng, ctx) => {
      const t = ctx.a.token;
      const raw = rng.pick([
        `GET ${ctx.a.base}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        `GET ${ctx.a.base}/Users HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n`,
        `GET ${ctx.a.base}/Users HTTP/1.1\r\nHost: x\r\nX: a\u0000b\r\n\r\n`,
        `GET ${ctx.a.base}/Users HTTP/9.9\r\nHost: x\r\n\r\n`,
        `GARBAGE\r\n\r\n`,
        `POST ${ctx.a.base}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\nContent-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
        `POST ${ctx.a.base}/Users HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n`,
        `GET ${ctx.a.base}/Users HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(90_000)}\r\n\r\n`,
        `TRACE ${ctx.a.base}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\n\r\n`,
        `PROPFIND ${ctx.a.base}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\n\r\n`,
        `PUT ${ctx.a.base}/ServiceProviderConfig HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\nContent-Type: application/scim+json\r\nContent-Length: 2\r\n\r\n{}`,
        `POST ${ctx.a.base}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\nContent-Type: text/xml\r\nContent-Length: 7\r\n\r\n<user/>`,
        `POST ${ctx.a.base}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\nContent-Type: application/scim+json; charset=latin1\r\nContent-Length: 2\r\n\r\n{}`,
        `GET ${ctx.a.base}/Users HTTP/1.1\r\nAuthorization: Bearer ${t}\r\n\r\n`,
      ]);
      return {
        kind: 'malformed HTTP',
        method: '-',
        target: raw.split('\r\n')[0]!.slice(0, 80),
        headers: [],
        raw: Buffer.from(raw, 'latin1'),
      };
    },
  ],
];

const TOTAL_WEIGHT = GENERATORS.reduce((n, [w]) => n + w, 0);
function nextAttack(rng: Rng, ctx: Ctx): Attack {
  let r = rng.int(TOTAL_WEIGHT);
  for (const [w, g] of GENERATORS) {
    if (r < w) return g(rng, ctx);
    r -= w;
  }
  return GENERATORS[0]![1](rng, ctx);
}

// ---- judging an answer ----------------------------------------------------------------------------------

function judge(a: Attack, r: Answer | undefined, ctx: Ctx): string | undefined {
  if (!r) return a.mayClose ? undefined : 'no answer (connection closed or hung)';
  if (r.status >= 500) return `${r.status} ${r.text.slice(0, 200)}`;
  // 408 is a fair answer to anything on a loaded machine: Node checks its timers before it reads sockets, so a
  // request whose bytes waited while the event loop was busy can time out. It is still judged as a SCIM error below.
  if (a.expect && !a.expect.includes(r.status) && r.status !== 408)
    return `got ${r.status}, expected ${a.expect.join(' or ')}: ${r.text.slice(0, 200)}`;
  if (r.status >= 400 && a.method !== 'HEAD') {
    let body: any;
    try {
      body = JSON.parse(r.text);
    } catch {
      return `${r.status} without a JSON body: ${r.text.slice(0, 120)}`;
    }
    if (
      !Array.isArray(body?.schemas) ||
      !body.schemas.includes(ERROR_URN) ||
      body.status !== String(r.status)
    )
      return `${r.status} without a SCIM error body: ${r.text.slice(0, 160)}`;
    if (typeof body.detail !== 'string' || !body.detail) return `${r.status} without a detail`;
  }
  if (r.status === 401 && !/^Bearer/i.test(r.headers['www-authenticate'] ?? ''))
    return '401 without WWW-Authenticate: Bearer';
  // Tenant isolation: nothing of B's reaches anyone else.
  if (r.text.includes(ctx.marker)) return `the answer shows tenant B's canary data: ${r.text.slice(0, 200)}`;
  const sent = (a.raw ?? Buffer.concat([Buffer.from(a.target), a.body ?? Buffer.alloc(0)])).toString(
    'latin1',
  );
  for (const id of ctx.bHidden) if (r.text.includes(id)) return `the answer names tenant B's user ${id}`;
  for (const id of [...ctx.bIds, ctx.bGroupId, ctx.b.id])
    if (r.text.includes(id) && !sent.includes(id) && !ctx.sentByA.has(id))
      return `the answer names tenant B's id ${id}`;
  return undefined;
}

// ---- the run ---------------------------------------------------------------------------------------------

export async function runHostileSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => undefined);
  const concurrency = opts.concurrency ?? 8;
  const rng = new Rng(opts.seed);
  const tenants = await makeTenants(opts.databaseUrl);
  const server = await startSoakServer(opts.databaseUrl, Boolean(opts.compiled));
  const violations: string[] = [];
  const byKind: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  const msByKind: Record<string, number> = {};
  try {
    const path = (id: string) => new URL(`${server.url}/scim/${id}/v2`).pathname;
    const ctx: Ctx = {
      a: { id: tenants.a.id, base: path(tenants.a.id), token: tenants.a.token },
      b: { id: tenants.b.id, base: path(tenants.b.id), token: tenants.b.token },
      revoked: tenants.revoked,
      expired: tenants.expired,
      marker: `canary${randomBytes(6).toString('hex')}`,
      bIds: [],
      bHidden: [],
      bGroupId: '',
      aUserIds: [],
      aGroupId: '',
      counter: 0,
      sentByA: new Set(),
    };
    // B's canaries: users (one the manager of the others) and a group of them.
    for (let i = 0; i < 6; i++) {
      const r = await http(server.port, 'POST', `${ctx.b.base}/Users`, ctx.b.token, {
        schemas: [CORE_USER, ENTERPRISE],
        userName: `${ctx.marker}-${i}@b.example`,
        displayName: `${ctx.marker} ${i}`,
        emails: [{ value: `${ctx.marker}-${i}@b.example`, type: 'work' }],
        ...(i > 0 ? { [ENTERPRISE]: { manager: { value: ctx.bIds[0] } } } : {}),
      });
      if (r.status !== 201) throw new Error(`canary user: ${r.status} ${r.text}`);
      (i < 4 ? ctx.bIds : ctx.bHidden).push(JSON.parse(r.text).id);
    }
    const bg = await http(server.port, 'POST', `${ctx.b.base}/Groups`, ctx.b.token, {
      schemas: [CORE_GROUP],
      displayName: `${ctx.marker} group`,
      members: [...ctx.bIds, ...ctx.bHidden].map((value) => ({ value })),
    });
    if (bg.status !== 201) throw new Error(`canary group: ${bg.status} ${bg.text}`);
    ctx.bGroupId = JSON.parse(bg.text).id;
    for (let i = 0; i < 5; i++) {
      const r = await http(server.port, 'POST', `${ctx.a.base}/Users`, ctx.a.token, validUser(ctx, rng));
      ctx.aUserIds.push(JSON.parse(r.text).id);
    }
    const ag = await http(server.port, 'POST', `${ctx.a.base}/Groups`, ctx.a.token, {
      schemas: [CORE_GROUP],
      displayName: 'A group',
      members: ctx.aUserIds.map((value) => ({ value })),
    });
    ctx.aGroupId = JSON.parse(ag.text).id;
    const bBefore = await snapshotB(server.port, ctx);

    // The stream, in two phases: the warm-up (a fifth), a memory sample, the rest, another sample.
    const started = Date.now();
    const deadline = started + opts.seconds * 1000;
    const warmUp = Math.max(1, Math.floor(opts.requests / 5));
    let sent = 0;
    const phase = async (until: number) => {
      const worker = async () => {
        while (sent < until && Date.now() < deadline) {
          const n = sent++;
          const attack = nextAttack(rng, ctx);
          byKind[attack.kind] = (byKind[attack.kind] ?? 0) + 1;
          // Noted before sending: a concurrent read may show what this write stores before its answer arrives.
          if (attack.body && attack.method !== 'GET') {
            const text = attack.body.toString('latin1');
            for (const id of ctx.bIds) if (text.includes(id)) ctx.sentByA.add(id);
          }
          const t0 = performance.now();
          const r = await send(server.port, attack);
          msByKind[attack.kind] = (msByKind[attack.kind] ?? 0) + (performance.now() - t0);
          const key = r ? String(r.status) : 'closed';
          byStatus[key] = (byStatus[key] ?? 0) + 1;
          const v = judge(attack, r, ctx);
          if (v)
            violations.push(
              `#${n} [${attack.kind}] ${attack.method} ${attack.target.slice(0, 160)}: ${v} (seed ${opts.seed})`,
            );
          else if (r && r.status < 300 && attack.onOk) attack.onOk(JSON.parse(r.text));
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    };
    await phase(warmUp);
    await sleep(300);
    const afterWarmUp = await server.memory();
    log(
      `soak: warm-up of ${sent} requests done; heap ${mib(afterWarmUp.heapUsed)}, rss ${mib(afterWarmUp.rss)}`,
    );
    await phase(opts.requests);
    await sleep(300);
    const atEnd = await server.memory();
    const seconds = (Date.now() - started) / 1000;
    log(
      `soak: ${sent} requests in ${seconds.toFixed(1)} s; heap ${mib(atEnd.heapUsed)}, rss ${mib(atEnd.rss)}`,
    );

    const heapLimit = afterWarmUp.heapUsed * 1.1 + HEAP_TOLERANCE_BYTES;
    if (atEnd.heapUsed > heapLimit)
      violations.push(
        `live heap grew from ${mib(afterWarmUp.heapUsed)} to ${mib(atEnd.heapUsed)} (limit ${mib(heapLimit)}) (seed ${opts.seed})`,
      );
    const rssLimit = afterWarmUp.rss * 1.25 + RSS_TOLERANCE_BYTES;
    if (atEnd.rss > rssLimit)
      violations.push(
        `RSS grew from ${mib(afterWarmUp.rss)} to ${mib(atEnd.rss)} (limit ${mib(rssLimit)}) (seed ${opts.seed})`,
      );

    // The server still answers, the same process, and does its job.
    if (server.child.exitCode !== null) violations.push(`the server exited (code ${server.child.exitCode})`);
    for (const p of ['/healthz', '/readyz']) {
      const r = await fetch(`${server.url}${p}`);
      if (r.status !== 200) violations.push(`${p} answered ${r.status} after the stream`);
    }
    const created = await http(server.port, 'POST', `${ctx.a.base}/Users`, ctx.a.token, validUser(ctx, rng));
    if (created.status !== 201)
      violations.push(`an ordinary create after the stream: ${created.status} ${created.text}`);
    else {
      const id = JSON.parse(created.text).id as string;
      const read = await http(server.port, 'GET', `${ctx.a.base}/Users/${id}`, ctx.a.token);
      const del = await http(server.port, 'DELETE', `${ctx.a.base}/Users/${id}`, ctx.a.token);
      if (read.status !== 200 || del.status !== 204)
        violations.push(`read/delete after the stream: ${read.status}/${del.status}`);
    }

    // Tenant B is exactly as it was; A's groups list none of B's users except as the opaque ids A itself sent.
    const bAfter = await snapshotB(server.port, ctx);
    bBefore.forEach((line, i) => {
      if (bAfter[i] !== line) violations.push(`tenant B changed:\n  before ${line}\n  after  ${bAfter[i]}`);
    });
    const aGroups = await http(server.port, 'GET', `${ctx.a.base}/Groups?count=1000`, ctx.a.token);
    if (aGroups.text.includes(ctx.marker)) violations.push("A's groups show B's canary data");

    // Nothing the server logged is an error (a 500's cause is logged at level 50).
    for (const line of server.output().split('\n'))
      if (/"level":(50|60)/.test(line)) violations.push(`server logged an error: ${line.slice(0, 300)}`);

    return {
      seed: opts.seed,
      requests: sent,
      seconds,
      byKind,
      msByKind,
      byStatus,
      violations,
      memory: { afterWarmUp, atEnd },
    };
  } finally {
    await server.stop();
  }
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
