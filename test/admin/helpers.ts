/**
 * A real server with the admin API registered, on a free port over a real store (SQLite or PostgreSQL).
 */
import { loadConfig, type Config } from '../../src/config.js';
import { buildApp, type App } from '../../src/http/app.js';
import { createStore } from '../../src/store/index.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { freshDatabase, type DialectName, type TestDatabase } from '../helpers/stores.js';

export interface AdminServer {
  base: string;
  config: Config;
  built: App;
  store: SqlStore;
  close(): Promise<void>;
}

export async function startAdminServer(
  dialect: DialectName,
  adminToken: string | undefined,
  shared?: { store?: SqlStore; env?: Record<string, string> },
): Promise<AdminServer> {
  let db: TestDatabase | undefined;
  let store = shared?.store;
  const owned$ = !store;
  if (!store) {
    db = await freshDatabase(dialect);
    store = createStore(db.url);
    await store.migrate();
  }
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: db?.url ?? 'unused',
    RATE_LIMIT_PER_MINUTE: '0',
    ...(adminToken ? { ADMIN_TOKEN: adminToken } : {}),
    ...shared?.env,
  });
  // buildApp wires the admin API and console (registerAdmin) like the real server.
  const built = await buildApp({ store, config });
  const base = await built.app.listen({ port: 0, host: '127.0.0.1' });
  // PORT=0: the Tenant URL must name the real port (as src/server.ts does).
  config.publicUrl = base;
  const owned = store;
  return {
    base,
    config,
    built,
    store: owned,
    close: async () => {
      await built.app.close();
      await built.drain();
      if (owned$) {
        await owned.close();
        await db?.drop();
      }
    },
  };
}

/** A signed-in console session as a browser on the console's page holds it: cookie, CSRF token, same Origin. */
export interface ConsoleClient {
  name: string;
  role: string;
  cookie: string;
  csrfToken: string;
  /** An admin API call the console page would make (cookie, X-CSRF-Token, Origin of the page). */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<JsonReply>;
}

export interface JsonReply {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

export async function request(
  url: string,
  method: string,
  opts: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonReply> {
  const headers: Record<string, string> = { ...opts.headers };
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** Creates an operator through the admin API with ADMIN_TOKEN (the bootstrap path); returns its password. */
export async function createOperator(
  base: string,
  adminToken: string,
  name: string,
  role: 'viewer' | 'operator' | 'admin',
  password = `pw-${name}-0123456789`,
): Promise<string> {
  const r = await request(`${base}/admin/api/operators`, 'POST', {
    body: { name, role, password },
    headers: { Authorization: `Bearer ${adminToken}` },
  });
  if (r.status !== 201) throw new Error(`creating operator ${name}: ${r.status} ${r.text}`);
  return password;
}

/** Signs in through POST /admin/api/session as the console page does. */
export async function signIn(base: string, name: string, password: string): Promise<ConsoleClient> {
  const r = await request(`${base}/admin/api/session`, 'POST', {
    body: { name, password },
    headers: { Origin: base },
  });
  if (r.status !== 201) throw new Error(`sign-in of ${name}: ${r.status} ${r.text}`);
  const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
  const csrfToken = r.body.csrfToken as string;
  return {
    name,
    role: r.body.operator.role,
    cookie,
    csrfToken,
    call: (method, path, body, headers = {}) =>
      request(`${base}/admin/api${path}`, method, {
        ...(body === undefined ? {} : { body }),
        headers: { Cookie: cookie, 'X-CSRF-Token': csrfToken, Origin: base, ...headers },
      }),
  };
}

/** Reads server-sent events from `url` until `count` events (not comments) arrived or `timeoutMs` passed. */
export async function readEvents(
  url: string,
  headers: Record<string, string>,
  count: number,
  timeoutMs = 10_000,
  onOpen?: () => Promise<void>,
): Promise<{ status: number; contentType: string; events: { id?: string; event?: string; data: string }[] }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const events: { id?: string; event?: string; data: string }[] = [];
  let res: Response | undefined;
  try {
    res = await fetch(url, { headers, signal: ac.signal });
    if (!res.ok || !res.body)
      return { status: res.status, contentType: res.headers.get('content-type') ?? '', events };
    await onOpen?.();
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const e: { id?: string; event?: string; data: string } = { data: '' };
        for (const line of block.split('\n')) {
          const m = /^(\w+): ?(.*)$/.exec(line);
          if (!m) continue;
          if (m[1] === 'data') e.data += m[2];
          else if (m[1] === 'id') e.id = m[2];
          else if (m[1] === 'event') e.event = m[2];
        }
        if (e.data || e.event) events.push(e);
        if (events.length >= count) {
          ac.abort();
          return { status: res.status, contentType: res.headers.get('content-type') ?? '', events };
        }
      }
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
  }
  return { status: res?.status ?? 0, contentType: res?.headers.get('content-type') ?? '', events };
}

/**
 * A provisioning job (file source, the engine tests' small directory) that has run one cycle into `tenant` of the
 * server, its state in the server's database, its file listed for the console (SYNC_JOB_FILES).
 */
export async function runEngineJob(
  s: AdminServer,
  tenant: { tenantUrl: string; token: string },
  name = 'contoso-sync',
): Promise<{ name: string; jobFile: string; close(): Promise<void> }> {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { loadJobConfig } = await import('../../src/engine/config.js');
  const { JobRunner } = await import('../../src/engine/job.js');
  const { writeDirectoryJson } = await import('../../src/engine/source/index.js');
  const { SyncState } = await import('../../src/engine/state/store.js');
  const { smallDirectory } = await import('../engine/setup.js');
  const dir = mkdtempSync(join(tmpdir(), 'joyn-console-engine-'));
  const jobFile = join(dir, 'job.yaml');
  const tokenEnv = `CONSOLE_TEST_TOKEN_${name.replace(/\W/g, '_').toUpperCase()}`;
  (s.config.consoleEngine.env as Record<string, string>)[tokenEnv] = tenant.token;
  await writeDirectoryJson(join(dir, 'directory.json'), smallDirectory());
  writeFileSync(
    jobFile,
    `name: ${name}\nsource: { type: file, path: directory.json }\ntarget: { tenantUrl: "${tenant.tenantUrl}", tokenEnv: ${tokenEnv}, concurrency: 2 }\n`,
  );
  s.config.consoleEngine.jobFiles.push(jobFile);
  const state = await SyncState.open(s.config.databaseUrl);
  const runner = new JobRunner({ config: loadJobConfig(jobFile), state, token: tenant.token });
  await runner.runCycleNow();
  await runner.close();
  return {
    name,
    jobFile,
    close: async () => {
      await state.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
