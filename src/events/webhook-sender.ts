/**
 * One delivery attempt: an HTTP POST of the event to the endpoint, bounded in every direction so a slow, large or
 * hostile receiver costs the worker no more than WEBHOOKS_TIMEOUT_MS and MAX_RESPONSE_BYTES:
 * - one deadline for the whole exchange (resolve, connect, TLS, request, response);
 * - the answer is read up to MAX_RESPONSE_BYTES, then the connection is dropped (only the status decides);
 * - redirects are not followed (a 3xx is a failure that names the Location: the operator updates the URL);
 * - every address connected to passes the SSRF policy (webhook-address.ts).
 * node:http is the client because it lets us check the resolved address before connecting (`lookup`).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { refusedAddress, type AddressPolicy } from './webhook-address.js';
import { RESPONSE_HEAD_CHARS } from './webhook-types.js';

export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface SendOptions {
  timeoutMs: number;
  policy: AddressPolicy;
  maxResponseBytes?: number;
}

export interface SendResult {
  /** null when no answer came. */
  status: number | null;
  durationMs: number;
  responseHead: string | null;
  error: string | null;
  /** Retry-After of a 429 or 503, in milliseconds. */
  retryAfterMs?: number;
}

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** dns.lookup, keeping only the addresses the policy allows (Node may ask for one or for all: autoSelectFamily). */
function guardedLookup(policy: AddressPolicy) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const allowed = addresses.filter((a) => refusedAddress(a.address, policy) === undefined);
      if (!allowed.length) {
        const why = refusedAddress(addresses[0]?.address ?? '', policy) ?? 'no address';
        const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${why}`);
        e.code = 'EJOYNADDRESS';
        return callback(e, '');
      }
      if (options.all) return callback(null, allowed);
      callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

export class WebhookSender {
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly lookup: ReturnType<typeof guardedLookup>;

  constructor(
    private readonly opts: SendOptions,
    maxSockets = 16,
  ) {
    this.lookup = guardedLookup(opts.policy);
    // Keep-alive: a busy endpoint gets its deliveries over a few warm connections instead of a handshake each.
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets, timeout: opts.timeoutMs }),
      https: new https.Agent({ keepAlive: true, maxSockets, timeout: opts.timeoutMs }),
    };
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  send(url: string, body: string, headers: Record<string, string>): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const limit = this.opts.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      // The request is made below; the deadline, set first, covers the whole exchange.
      const pending: { req?: http.ClientRequest } = {};
      const deadline = setTimeout(
        () => pending.req?.destroy(new Error(`no complete answer within ${this.opts.timeoutMs} ms`)),
        this.opts.timeoutMs,
      );
      const done = (r: Omit<SendResult, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve({ ...r, durationMs: elapsed() });
      };
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        return done({ status: null, responseHead: null, error: 'the endpoint URL is not valid' });
      }
      const host = u.hostname.replace(/^\[|\]$/g, '');
      // An IP literal is connected to without a lookup: check it here.
      if (isIP(host)) {
        const why = refusedAddress(host, this.opts.policy);
        if (why) return done({ status: null, responseHead: null, error: why });
      }
      const client = u.protocol === 'https:' ? https : http;
      const payload = Buffer.from(body, 'utf8');
      const req = (pending.req = client.request(
        u,
        {
          method: 'POST',
          agent: u.protocol === 'https:' ? this.agents.https : this.agents.http,
          lookup: this.lookup as never,
          headers: { ...headers, 'content-type': 'application/json', 'content-length': payload.length },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          let size = 0;
          const finish = (note?: string) => {
            const text = Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_HEAD_CHARS);
            const location = status >= 300 && status < 400 ? res.headers.location : undefined;
            const retryAfterMs =
              status === 429 || status === 503
                ? parseRetryAfter(res.headers['retry-after'], Date.now())
                : undefined;
            done({
              status,
              responseHead: text || null,
              error:
                note ??
                (location
                  ? `redirects are not followed: the receiver answered ${status} to ${String(location).slice(0, 300)}; update the endpoint URL`
                  : null),
              ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
            });
          };
          res.on('data', (c: Buffer) => {
            if (size < RESPONSE_HEAD_CHARS * 4) chunks.push(c);
            size += c.length;
            // Past the cap the rest is not read: the status has already decided the outcome.
            if (size > limit) {
              finish(`the answer exceeded ${limit} bytes; the rest was not read`);
              res.destroy();
            }
          });
          res.on('end', () => finish());
          res.on('error', (e) => finish(`the answer broke off: ${e.message}`));
          res.on('close', () => finish());
        },
      ));
      req.on('error', (e: NodeJS.ErrnoException) =>
        done({
          status: null,
          responseHead: null,
          error: e.code && e.code !== 'EJOYNADDRESS' ? `${e.code}: ${e.message}` : e.message,
        }),
      );
      req.end(payload);
    });
  }
}
