/**
 * Debian's `wrk` as the load generator (~15 µs of its own CPU per response here, against ~35–40 µs for a Node
 * generator): found on PATH, installed with apt-get when missing and this is root, or refused with a clear line.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Latencies in ms. */
  p50: number;
  p99: number;
  mean: number;
  max: number;
  /** Socket errors and responses with a status above 399 (wrk counts those; 3xx never happen here). */
  errors: number;
  errorDetail: string;
  /** The highest number of requests one wrk thread generated (to advance membership pairs). */
  perThread: number;
}

const which = (cmd: string): string | undefined => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
};

/** The path of wrk, installing Debian's package when absent and possible; throws with the reason otherwise. */
export function ensureWrk(log: (s: string) => void): string {
  const found = which('wrk');
  if (found) return found;
  const root = process.getuid?.() === 0;
  if (!root || !which('apt-get'))
    throw new Error(
      'wrk is not installed, and this bench cannot install it (it needs root and apt-get): install Debian\'s "wrk" package (apt-get install wrk) and run npm run bench again',
    );
  log('wrk is not installed: installing Debian\'s "wrk" package with apt-get…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'wrk'], {
    env,
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'inherit' });
    r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'wrk'], {
      env,
      stdio: 'inherit',
    });
  }
  const installed = which('wrk');
  if (r.status !== 0 || !installed)
    throw new Error('apt-get could not install wrk; install it and run again');
  return installed;
}

export function wrkVersion(wrk: string): string {
  try {
    // `wrk --version` prints its banner and usage, and exits 1.
    execFileSync(wrk, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const out = String((e as { stdout?: string }).stdout ?? '');
    const m = /^wrk (\S+)/m.exec(out);
    if (m) return m[1]!;
  }
  return 'unknown';
}

export async function runWrk(opts: {
  wrk: string;
  /** taskset CPU list for wrk (undefined: not pinned). */
  cpu?: string;
  url: string;
  script: string;
  args: string[];
  seconds: number;
  connections: number;
  threads: number;
}): Promise<WrkResult> {
  const wrkArgs = [
    `-t${opts.threads}`,
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
    '--timeout',
    '30s',
    '-s',
    opts.script,
    opts.url,
    '--',
    ...opts.args,
  ];
  const [cmd, args] = opts.cpu ? ['taskset', ['-c', opts.cpu, opts.wrk, ...wrkArgs]] : [opts.wrk, wrkArgs];
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    p.stdout.on('data', (c: Buffer) => (text += c.toString()));
    p.stderr.on('data', (c: Buffer) => (text += c.toString()));
    p.on('error', reject);
    p.on('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text.slice(0, 2000)}`)),
    );
  });
  const line = /^WRKJSON (.*)$/m.exec(out);
  if (!line) throw new Error(`wrk printed no result line:\n${out.slice(0, 2000)}`);
  const j = JSON.parse(line[1]!) as {
    requests: number;
    durationUs: number;
    p50Us: number;
    p99Us: number;
    meanUs: number;
    maxUs: number;
    errors: Record<string, number>;
    perThread: number;
  };
  const errors = Object.values(j.errors).reduce((a, b) => a + b, 0);
  const seconds = j.durationUs / 1e6;
  // wrk counts a response with status > 399 as an error but still as a completed request.
  const ok = j.requests - j.errors.status!;
  return {
    requests: ok,
    seconds,
    rps: ok / seconds,
    p50: j.p50Us / 1000,
    p99: j.p99Us / 1000,
    mean: j.meanUs / 1000,
    max: j.maxUs / 1000,
    errors,
    errorDetail: Object.entries(j.errors)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', '),
    perThread: j.perThread,
  };
}
