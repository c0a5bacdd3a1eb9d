/**
 * The statements this process sends PostgreSQL while `fn` runs, read off the driver's client (every pooled
 * connection is a pg.Client): what a test counts to show how many round trips a request takes.
 */
import pg from 'pg';

export async function statementsOf(fn: () => Promise<void>): Promise<string[]> {
  const sent: string[] = [];
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: any[]) {
    const q = args[0];
    sent.push(typeof q === 'string' ? q : String(q?.text ?? ''));
    return (query as any).apply(this, args);
  } as typeof query;
  try {
    await fn();
  } finally {
    pg.Client.prototype.query = query;
  }
  return sent;
}
