/**
 * Forks the bench's child processes and waits for their IPC messages. The children run the compiled build
 * (plain `node`, as production runs `node dist/main.js`): under tsx every function carries esbuild's keepNames
 * wrapper and source maps, which measured ~15% more server CPU per lookup.
 */
import { spawnSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Compiles src/ and bench/ into .bench-build/ (tsconfig.bench.json) once per run. */
export function compileChildren(): void {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.bench.json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.bench.json failed:\n${r.stdout}${r.stderr}`);
}

/** CPU time (user + system, µs) a child has used so far; children answer { type: 'cpu' } with process.cpuUsage(). */
export async function cpuMicros(c: Child): Promise<number> {
  c.send({ type: 'cpu' });
  const m = await c.next<{ user: number; system: number }>('cpu');
  return m.user + m.system;
}

export interface Child {
  proc: ChildProcess;
  /** Resolves with the next message of one of these types; rejects on an 'error' message or exit. */
  next<T = Record<string, unknown>>(...types: string[]): Promise<T & { type: string }>;
  send(m: object): void;
  stop(): Promise<void>;
}

export function startChild(
  file: string,
  env: Record<string, string> = {},
  onMessage?: (m: { type: string } & Record<string, unknown>) => void,
): Child {
  // './server-child.ts' → .bench-build/bench/server-child.js (compileChildren() must have run).
  const compiled = fileURLToPath(
    new URL(`../.bench-build/bench/${file.replace(/^\.\//, '').replace(/\.ts$/, '.js')}`, import.meta.url),
  );
  if (!existsSync(compiled)) throw new Error(`${compiled} is missing: call compileChildren() first`);
  const proc = fork(compiled, [], {
    execArgv: [],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queue: ({ type: string } & Record<string, unknown>)[] = [];
  const waiters: (() => void)[] = [];
  let exited: string | undefined;
  proc.on('message', (m) => {
    const msg = m as { type: string } & Record<string, unknown>;
    onMessage?.(msg);
    if (msg.type === 'progress') return;
    queue.push(msg);
    waiters.splice(0).forEach((w) => w());
  });
  proc.on('exit', (code, signal) => {
    exited = `child ${file} exited (code ${code}, signal ${signal})`;
    waiters.splice(0).forEach((w) => w());
  });
  const next = async <T>(...types: string[]): Promise<T & { type: string }> => {
    for (;;) {
      const i = queue.findIndex((m) => types.includes(m.type) || m.type === 'error');
      if (i >= 0) {
        const m = queue.splice(i, 1)[0]!;
        if (m.type === 'error') throw new Error(`${file}: ${String(m.message)}`);
        return m as T & { type: string };
      }
      if (exited) throw new Error(exited);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return {
    proc,
    next,
    send: (m) => proc.send(m),
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.send({ type: 'exit' });
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await done;
      clearTimeout(timer);
    },
  };
}
