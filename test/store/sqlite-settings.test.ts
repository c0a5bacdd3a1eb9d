/**
 * SQLite connection settings that production depends on: WAL + synchronous=FULL (durability of every 2xx), the page
 * cache, and the memory-mapped read window (SQLITE_MMAP_MB) that keeps lookups in a large tenant off read() calls.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { openStore } from '../../src/store/open.js';
import { freshDatabase } from '../helpers/stores.js';

const db = await freshDatabase('sqlite');
after(() => db.drop());

const pragma = (store: ReturnType<typeof openStore>, name: string): unknown =>
  store.conn.sqlite!.pragma(name, { simple: true });

test('the server opens SQLite in WAL mode, synchronous=FULL, with a 64 MiB cache and a 2047 MiB mmap window (the bundled SQLite maximum) by default', async () => {
  const store = openStore(loadConfig({ DATABASE_URL: db.url }));
  try {
    await store.migrate();
    assert.equal(pragma(store, 'journal_mode'), 'wal');
    assert.equal(pragma(store, 'synchronous'), 2); // FULL
    assert.equal(pragma(store, 'cache_size'), -65536);
    assert.equal(pragma(store, 'mmap_size'), 2047 * 1024 * 1024);
  } finally {
    await store.close();
  }
});

test('SQLITE_MMAP_MB sets the window; 0 turns memory-mapped reads off', async () => {
  for (const [mb, bytes] of [
    ['64', 64 * 1024 * 1024],
    ['0', 0],
  ] as const) {
    const store = openStore(loadConfig({ DATABASE_URL: db.url, SQLITE_MMAP_MB: mb }));
    try {
      assert.equal(pragma(store, 'mmap_size'), bytes, `SQLITE_MMAP_MB=${mb}`);
    } finally {
      await store.close();
    }
  }
  assert.throws(
    () => loadConfig({ SQLITE_MMAP_MB: 'lots' }),
    /SQLITE_MMAP_MB must be a non-negative integer/,
  );
});
