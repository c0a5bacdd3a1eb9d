/**
 * A real, throwaway OpenLDAP server for tests (Debian's `slapd` package; CI installs it with apt).
 *
 * Each call gets its own temporary directory with a slapd.conf (mdb backend, core/cosine/inetorgperson/nis
 * schemas, the ppolicy overlay so `pwdAccountLockedTime` exists, rootdn/rootpw), listens on a free 127.0.0.1
 * port, and is killed on stop() or when the test process exits. Operational attributes (entryUUID,
 * modifyTimestamp, entryCSN) are maintained by slapd itself. The suffix entry and `ou=people` / `ou=groups`
 * are created so tests can add users and groups straight away.
 *
 * Where slapd is not installed, describeWithSlapd() stands in one skipped test for the suite (a failure with
 * CI=true): see services.ts. JOYN_SLAPD_PATH names the binary (set it to a missing path to try that).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { describeIfAvailable, findExecutable } from './services.js';

export interface SlapdHandle {
  url: string;
  bindDN: string;
  bindPassword: string;
  suffix: string;
  stop(): Promise<void>;
}

// Debian installs slapd in /usr/sbin, which is not on a non-root user's PATH.
const SLAPD = process.env.JOYN_SLAPD_PATH ?? findExecutable('slapd', ['/usr/sbin']);
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

/** Why slapd cannot be started here, or undefined when it can. */
export function slapdMissing(): string | undefined {
  const install = "install Debian's slapd package: apt-get install slapd ldap-utils";
  if (SLAPD === undefined || !existsSync(SLAPD))
    return `slapd is not installed (${SLAPD ?? 'not on PATH'}; ${install})`;
  if (!existsSync(join(SCHEMA_DIR, 'core.schema')))
    return `slapd's schemas are missing (${SCHEMA_DIR}; ${install})`;
  return undefined;
}

/** A suite that needs a real slapd: describe() when there is one, else one skipped test saying why. */
export function describeWithSlapd(name: string, fn: () => void): void {
  describeIfAvailable(name, { unavailable: slapdMissing() }, fn);
}

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test that fails before stop() must not leave a slapd behind.
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function rdnValue(suffix: string): { attr: string; value: string } {
  const first = suffix.split(',')[0] ?? '';
  const eq = first.indexOf('=');
  return { attr: first.slice(0, eq).trim().toLowerCase(), value: first.slice(eq + 1).trim() };
}

async function tryBind(url: string, dn: string, password: string): Promise<boolean> {
  const client = new Client({ url, timeout: 2000, connectTimeout: 1000 });
  try {
    await client.bind(dn, password);
    return true;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

export async function startSlapd(opts: { suffix?: string } = {}): Promise<SlapdHandle> {
  const missing = slapdMissing();
  if (SLAPD === undefined || missing) throw new Error(missing);
  const suffix = opts.suffix ?? 'dc=example,dc=org';
  const bindDN = `cn=admin,${suffix}`;
  const bindPassword = 'test-admin-secret';
  const dir = mkdtempSync(join(tmpdir(), 'joyn-slapd-'));
  tempDirs.add(dir);
  mkdirSync(join(dir, 'db'));
  const conf = [
    `include ${SCHEMA_DIR}/core.schema`,
    `include ${SCHEMA_DIR}/cosine.schema`,
    `include ${SCHEMA_DIR}/inetorgperson.schema`,
    `include ${SCHEMA_DIR}/nis.schema`,
    `modulepath ${MODULE_DIR}`,
    'moduleload back_mdb',
    'moduleload ppolicy',
    `pidfile ${join(dir, 'slapd.pid')}`,
    'sizelimit unlimited',
    'database mdb',
    `suffix "${suffix}"`,
    `rootdn "${bindDN}"`,
    `rootpw ${bindPassword}`,
    `directory ${join(dir, 'db')}`,
    'maxsize 268435456',
    'index objectClass eq',
    'index entryUUID eq',
    // ppolicy defines pwdAccountLockedTime, the usual OpenLDAP "account disabled" marker.
    'overlay ppolicy',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'slapd.conf'), conf);

  installExitHook();
  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `ldap://127.0.0.1:${port}`;
    // -d 0 keeps slapd in the foreground (no fork) so we own its pid; we run as root in CI and slapd
    // accepts that, so no -u/-g is needed.
    const child = spawn(SLAPD, ['-f', join(dir, 'slapd.conf'), '-h', `${url}/`, '-d', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    running.add(child);
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
    });
    let exited = false;
    child.once('exit', () => {
      exited = true;
      running.delete(child);
    });

    const deadline = Date.now() + 15_000;
    let up = false;
    while (!exited && Date.now() < deadline) {
      if (await tryBind(url, bindDN, bindPassword)) {
        up = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!up) {
      child.kill('SIGKILL');
      lastErr = stderr.trim();
      continue; // most likely the port was taken between freePort() and slapd's bind
    }

    await seed(url, bindDN, bindPassword, suffix);

    const stop = async (): Promise<void> => {
      if (!exited) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    };
    return { url, bindDN, bindPassword, suffix, stop };
  }
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
  throw new Error(`slapd did not start: ${lastErr || 'no output'}`);
}

async function seed(url: string, bindDN: string, password: string, suffix: string): Promise<void> {
  const client = new Client({ url });
  try {
    await client.bind(bindDN, password);
    const { attr, value } = rdnValue(suffix);
    const base: Record<string, string | string[]> =
      attr === 'dc'
        ? { objectClass: ['top', 'dcObject', 'organization'], dc: value, o: value }
        : attr === 'o'
          ? { objectClass: ['top', 'organization'], o: value }
          : { objectClass: ['top', 'organizationalUnit'], ou: value };
    await client.add(suffix, base);
    await client.add(`ou=people,${suffix}`, { objectClass: ['top', 'organizationalUnit'], ou: 'people' });
    await client.add(`ou=groups,${suffix}`, { objectClass: ['top', 'organizationalUnit'], ou: 'groups' });
  } finally {
    await client.unbind().catch(() => undefined);
  }
}
