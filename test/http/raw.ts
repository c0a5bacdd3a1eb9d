/**
 * Raw HTTP/1.1 over node:net for requests no well-behaved client library would send: malformed request
 * lines and headers, oversized headers, slow senders. Returns the parsed response the server wrote.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { ERROR_SCHEMA } from '../../src/scim/errors.js';

export interface RawResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  text: string;
  body: any;
}

/**
 * Connects to `baseUrl`'s host and port, writes each chunk in turn (waiting `pauseMs` between chunks when
 * given, then holding the connection open), and resolves with the response once the server closes the
 * connection or the response is complete.
 */
export function rawRequest(
  baseUrl: string,
  chunks: string | Buffer | (string | Buffer)[],
  opts: { pauseMs?: number } = {},
): Promise<RawResponse> {
  const u = new URL(baseUrl);
  const list = Array.isArray(chunks) ? chunks : [chunks];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    const received: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      const all = Buffer.concat(received);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = all.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head[0] ?? '')?.[1]);
      const headers: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
      const bodyBytes = all.subarray(end + 4);
      if (length !== undefined && bodyBytes.length < length) return;
      done = true;
      const text = bodyBytes.subarray(0, length ?? bodyBytes.length).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      socket.destroy();
      resolve({ status, headers, text, body });
    };
    socket.on('data', (d: Buffer) => {
      received.push(d);
      finish();
    });
    socket.on('close', () => {
      finish();
      if (!done)
        reject(new Error(`connection closed without a response: ${Buffer.concat(received).toString()}`));
    });
    // The server may close while we still write (it answered early): the response is what counts.
    socket.on('error', () => undefined);
    socket.on('connect', async () => {
      for (const [i, c] of list.entries()) {
        if (i > 0 && opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
        if (done || socket.destroyed) return;
        socket.write(c);
      }
    });
  });
}

/** Asserts an RFC 7644 §3.12 error body written by the server (through Fastify or on the raw socket). */
export function expectRawScimError(res: RawResponse, status: number, detail?: RegExp): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/scim\+json/);
  assert.deepEqual(res.body?.schemas, [ERROR_SCHEMA], res.text.slice(0, 300));
  assert.equal(res.body.status, String(status));
  assert.equal(typeof res.body.detail, 'string');
  assert.ok(res.body.detail.length > 10, `detail should say what to fix: '${res.body.detail}'`);
  if (detail) assert.match(res.body.detail, detail);
}
