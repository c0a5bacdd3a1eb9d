/**
 * The checker's HTTP client: sends a request the way Entra does and records it for the report.
 * Only the global `fetch` (Node ≥ 18) is used, so this runs inside the engine and the console too.
 */
import type { Exchange, RecordedResponse } from './types.js';

export const SCIM_JSON = 'application/scim+json';

/** The answer to one request, with the parsed body ready for judging. */
export interface Reply {
  exchange: Exchange;
  status: number;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  json: unknown;
  text: string;
  contentType: string;
}

export interface SendOptions {
  /** Query string, already encoded exactly as it goes on the wire (no leading `?`). */
  query?: string;
  /** JSON body (serialised with JSON.stringify) — Entra sends `application/scim+json`. */
  body?: unknown;
  /** Bearer token to send instead of the configured one; `null` sends no Authorization header. */
  token?: string | null;
}

/** `filter=userName eq "x"` → `filter=userName%20eq%20%22x%22`: one encoded query parameter. */
export function queryParam(name: string, value: string): string {
  return `${name}=${encodeURIComponent(value)}`;
}

/** Redacts credentials before a header set goes into a report (reports end up in CI logs). */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === 'authorization') {
      const scheme = v.split(' ')[0] ?? '';
      out[k] = `${scheme} <redacted>`;
    } else out[k] = v;
  }
  return out;
}

export class ScimClient {
  private readonly base: string;
  private readonly tenantQuery: string;
  /** Called for every exchange, so the running check can collect its evidence. */
  onExchange: ((ex: Exchange) => void) | undefined;

  constructor(
    tenantUrl: string,
    private readonly token: string,
    private readonly fetchImpl: typeof fetch = globalThis.fetch,
    private readonly signal?: AbortSignal,
  ) {
    // entra-scim-client.md §0: Entra appends /Users, /Groups, … to the Tenant URL. Keep any query
    // parameter of the Tenant URL (such as aadOptscim062020) in front of ours.
    const u = new URL(tenantUrl);
    this.tenantQuery = u.search.replace(/^\?/, '');
    u.search = '';
    u.hash = '';
    this.base = u.toString().replace(/\/+$/, '');
  }

  url(path: string, query?: string): string {
    const q = [this.tenantQuery, query ?? ''].filter((s) => s.length > 0).join('&');
    return `${this.base}${path}${q ? `?${q}` : ''}`;
  }

  /** A copy that sends without the abort signal (used for cleanup after an interrupt). */
  withoutSignal(): ScimClient {
    const c = new ScimClient(
      this.base + (this.tenantQuery ? `?${this.tenantQuery}` : ''),
      this.token,
      this.fetchImpl,
    );
    c.onExchange = this.onExchange;
    return c;
  }

  async send(method: string, path: string, opts: SendOptions = {}): Promise<Reply> {
    const url = this.url(path, opts.query);
    const headers: Record<string, string> = {};
    const token = opts.token === undefined ? this.token : opts.token;
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (opts.body !== undefined) {
      headers['Content-Type'] = SCIM_JSON; // entra-scim-client.md §0 "Headers"
      payload = JSON.stringify(opts.body);
    }
    const exchange: Exchange = {
      request: {
        method,
        url,
        headers: redactHeaders(headers),
        ...(opts.body !== undefined ? { body: opts.body } : {}),
      },
    };
    this.onExchange?.(exchange);
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        redirect: 'manual',
        ...(this.signal ? { signal: this.signal } : {}),
      });
    } catch (e) {
      exchange.error = describeError(e);
      throw new TransportError(exchange.error, exchange);
    }
    const text = await res.text();
    let json: unknown;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const resHeaders: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      resHeaders[k] = v;
    });
    const response: RecordedResponse = { status: res.status, headers: resHeaders };
    if (text.length > 0) response.body = json === undefined ? text : json;
    exchange.response = response;
    return { exchange, status: res.status, json, text, contentType: res.headers.get('content-type') ?? '' };
  }
}

/** No HTTP answer at all: refused connection, DNS failure, TLS failure, abort. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly exchange: Exchange,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    const c = cause instanceof Error ? `: ${cause.message}` : '';
    return `${e.name === 'AbortError' ? 'aborted' : e.message}${c}`;
  }
  return String(e);
}
