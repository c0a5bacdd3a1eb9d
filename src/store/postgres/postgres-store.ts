import { connect, type ConnectOptions } from '../connect.js';
import { SqlStore } from '../sql/sql-store.js';
import { postgresHooks } from './hooks.js';
import { postgresMigrations } from './migrations.js';

export function createPostgresStore(url: string, opts: ConnectOptions = {}): SqlStore {
  return new SqlStore(connect(url, opts), postgresHooks, postgresMigrations);
}
