import { randomFillSync } from 'node:crypto';

/** Random bytes drawn from a pool refilled 4 KiB at a time (one call into OpenSSL per 256 ids, not two per id). */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function random(n: number): Buffer {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += n;
  return pool.subarray(poolAt - n, poolAt);
}

/**
 * UUIDv7 (RFC 9562 §5.7): 48-bit milliseconds then random bits. Primary-key order is creation order,
 * which gives list results a natural, stable order and keeps B-tree inserts at the right edge.
 */
let lastMs = 0;
let seq = 0;
export function newId(): string {
  let ms = Date.now();
  if (ms <= lastMs) {
    // Same millisecond: keep ids monotonic within this process by counting in the random field.
    ms = lastMs;
    seq = (seq + 1) & 0xfff;
    if (seq === 0) ms = ++lastMs;
  } else {
    seq = random(2).readUInt16BE(0) & 0x7ff;
  }
  lastMs = ms;
  const b = Buffer.from(random(16)); // a copy: the pool's bytes are not to be written
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | ((seq >> 8) & 0x0f);
  b[7] = seq & 0xff;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
