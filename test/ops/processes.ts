/**
 * Real processes for the operations tests: `joyn-scim` CLI runs and server processes started exactly as an
 * operator starts them (`node --import tsx src/main.ts`), on a port we pick, ready when /readyz says so.
 * Shared by test/ops/*.test.ts and test/multi-instance/*.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = new URL('../../', import.meta.url).pathname;
const MAIN = join(ROOT, 'src/main.ts');
const CLI = join(ROOT, 'src/cli/index.ts');

/** Settings a child must not inherit from whoever runs the tests: each test names its own. */
const OWN_SETTINGS = [
  'DATABASE_URL',
  'PORT',
  'HOST',
  'PUBLIC_URL',
  'ADMIN_TOKEN',
  'DATABASE_POOL_SIZE',
  'DATABASE_STATEMENT_TIMEOUT_MS',
  'DATABASE_SSL',
  'RATE_LIMIT_PER_MINUTE',
  'LOG_LEVEL',
  'MAX_RESULTS',
  'MAX_PAYLOAD_BYTES',
];

export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test' };
  for (const k of OWN_SETTINGS) delete env[k];
  return { ...env, ...extra };
}

/** A port nobody listens on right now (the kernel picks it; we release it at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `joyn-scim <args>` as a child process and collects its output. */
export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs a long-lived `joyn-scim <args>` (a loop) until its stdout matches `until`, then stops it with SIGTERM; after
 * `timeoutMs` without a match it is stopped anyway (the caller's assertions then fail instead of hanging).
 */
export function runCliUntil(
  args: string[],
  env: Record<string, string>,
  until: RegExp,
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (until.test(stdout) && child.exitCode === null) child.kill('SIGTERM');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI and insists on success; returns stdout. */
export async function cliOk(args: string[], env: Record<string, string>): Promise<string> {
  const r = await runCli(args, env);
  if (r.code !== 0)
    throw new Error(`joyn-scim ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** http://127.0.0.1:<port> (also its PUBLIC_URL). */
  readonly url: string;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends SIGTERM and waits for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns a server process (without waiting for it). */
export async function spawnServer(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: childEnv({
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: url,
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
      ...env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    port,
    url,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Polls /readyz until it answers 200; fails if the process exits first or after `timeoutMs`. */
export async function waitReady(p: ServerProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void p.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited)
      throw new Error(`server exited before it was ready\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`);
    try {
      const r = await fetch(`${p.url}/readyz`);
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  p.child.kill('SIGKILL');
  throw new Error(`server not ready after ${timeoutMs} ms\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`);
}

export async function startServerProcess(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const p = await spawnServer(databaseUrl, env);
  await waitReady(p);
  return p;
}

/**
 * Waits until the server has written `pattern` to its stdout (the first-start banner comes after /readyz already
 * answers: the default tenant is created once the server listens). A wait, not a timing assertion.
 */
export async function waitForStdout(p: ServerProcess, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(p.stdout()) && Date.now() < deadline) await sleep(50);
}

/** Does a TCP connection to the port get refused (nothing listening)? */
export function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

/** Waits until nothing listens on the port any more (a wait, not a timing assertion). */
export async function waitRefused(port: number, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await connectionRefused(port)) return true;
    await sleep(50);
  }
  return false;
}

export interface ScimResponse {
  status: number;
  body: any;
  headers: Headers;
}

/** A SCIM client bound to one Tenant URL and token. */
export function scimClient(tenantUrl: string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<ScimResponse> => {
    const r = await fetch(`${tenantUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: r.status, body: parsed, headers: r.headers };
  };
}
export type ScimClient = ReturnType<typeof scimClient>;

/** The Tenant URL of the same tenant on another instance (same path, other base). */
export function onInstance(tenantUrl: string, baseUrl: string): string {
  return baseUrl + new URL(tenantUrl).pathname;
}

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Entra's legacy member add/remove (entra-scim-client.md §1.20, §1.21). */
export function memberPatch(op: 'Add' | 'Remove', ids: readonly string[]) {
  return {
    schemas: [PATCH_OP],
    Operations: [{ op, path: 'members', value: ids.map((value) => ({ $ref: null, value })) }],
  };
}

export function versionOf(etagOrVersion: string | null | undefined): number {
  const m = /(\d+)/.exec(String(etagOrVersion ?? ''));
  if (!m) throw new Error(`no version in '${String(etagOrVersion)}'`);
  return Number(m[1]);
}
