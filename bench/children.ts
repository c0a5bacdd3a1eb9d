/** Forks the bench's child processes (TypeScript through tsx) and waits for their IPC messages. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
  const proc = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
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
