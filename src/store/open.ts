/**
 * The store a process opens from its configuration. Its own module so that the CLI, which opens the store for most
 * commands, does not load the HTTP server (Fastify, the routes, the console) to do it.
 */
import type { Config } from '../config.js';
import { createStore } from './index.js';
import type { SqlStore } from './sql/sql-store.js';

export function openStore(config: Config): SqlStore {
  return createStore(config.databaseUrl, {
    poolSize: config.db.poolSize,
    statementTimeoutMs: config.db.statementTimeoutMs,
    sqliteMmapBytes: config.db.sqliteMmapMiB * 1024 * 1024,
    busyWaitMs: config.db.busyWaitMs,
    connectTimeoutMs: config.db.connectTimeoutMs,
    ...(config.db.ssl ? { ssl: config.db.ssl } : {}),
  });
}
