/**
 * The Node HTTP(S) server under Fastify: size and time limits against hostile or broken clients, and SCIM
 * error bodies for what Node rejects before Fastify ever sees a request (malformed HTTP, oversized headers,
 * slow clients), written on the raw socket. docs/security.md "Limits" lists every limit.
 */
import { STATUS_CODES, type IncomingMessage, type ServerOptions, type ServerResponse } from 'node:http';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HEADER_ALLOWANCE_BYTES, type Config } from '../config.js';
import { ScimError } from '../scim/errors.js';
import { SCIM_CONTENT_TYPE } from './errors.js';
import { readCertificate } from './tls.js';

type HttpLimits = Config['http'];

/** Fastify's server options for the limits in `config.http`, and HTTPS when `config.tls` is set. */
export function nodeServerOptions(config: Config): {
  http?: ServerOptions;
  https?: HttpsServerOptions;
  requestTimeout: number;
} {
  const { http } = config;
  const options: ServerOptions = {
    maxHeaderSize: http.maxHeaderBytes,
    headersTimeout: http.headersTimeoutMs,
    requestTimeout: http.requestTimeoutMs,
    // Node enforces both timeouts from a periodic sweep: a quarter of the shorter one keeps the overshoot small.
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(http.headersTimeoutMs / 4))),
    // Checked in checkRequestTarget instead, so that the answer is a SCIM error rather than Node's empty 400.
    requireHostHeader: false,
  };
  // Fastify copies its own requestTimeout onto the server (its default, 0, would switch the limit off).
  const requestTimeout = http.requestTimeoutMs;
  if (!config.tls) return { http: options, requestTimeout };
  return {
    https: { ...options, ...readCertificate(config.tls), handshakeTimeout: http.headersTimeoutMs },
    requestTimeout,
  };
}

/** What Node's HTTP parser and timers report on a connection, as the SCIM error the client receives. */
export function clientErrorToScim(code: string | undefined, inBody: boolean, http: HttpLimits): ScimError {
  const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ScimError(
        431,
        undefined,
        `the request line and headers are larger than ${http.maxHeaderBytes} bytes: keep the URL within ` +
          `${http.maxUrlBytes} bytes (send a long filter in the body of POST …/Users/.search, RFC 7644 §3.4.3) ` +
          `and the headers within ${HEADER_ALLOWANCE_BYTES} bytes`,
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ScimError(
        408,
        undefined,
        inBody
          ? `the request was not received in full within ${seconds(http.requestTimeoutMs)}: send the body without pauses`
          : `the request line and headers were not received within ${seconds(http.headersTimeoutMs)}: send them at once`,
      );
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new ScimError(
        413,
        undefined,
        'the chunk extensions of the body are too large; send plain chunks',
      );
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return new ScimError(
        400,
        undefined,
        'Content-Length must be one decimal number, and must not be sent together with Transfer-Encoding',
      );
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CHUNK_SIZE':
      return new ScimError(
        400,
        undefined,
        'the body is not valid chunked encoding (RFC 9112 §7.1); send it with a Content-Length instead',
      );
    case 'HPE_INVALID_METHOD':
      return new ScimError(
        400,
        undefined,
        'the request line does not start with an HTTP method; SCIM uses GET, POST, PUT, PATCH and DELETE',
      );
    case 'HPE_INVALID_URL':
      return new ScimError(
        400,
        undefined,
        'the request target is not a valid URL path: percent-encode spaces, quotes and non-ASCII characters',
      );
    case 'HPE_PAUSED_H2_UPGRADE':
      return new ScimError(505, undefined, 'HTTP/2 without TLS is not served here; send HTTP/1.1 requests');
    default:
      return new ScimError(
        400,
        undefined,
        `the request is not well-formed HTTP/1.1 (${code ?? 'unknown parser error'}): the request line is ` +
          `"METHOD /path HTTP/1.1" and each header line "Name: value", each ending in CRLF`,
      );
  }
}

/**
 * Writes a SCIM error as a complete HTTP/1.1 response on a socket no ServerResponse is writing to, then
 * closes it. The close lingers: the rest of what the client still sends is read and dropped for a moment,
 * because closing with unread input makes the kernel reset the connection, and a reset can destroy the
 * response before the client has read it.
 */
export function writeRawScimError(socket: Duplex, err: ScimError): void {
  const body = JSON.stringify(err.toJSON());
  const head = [
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}`,
    `Content-Type: ${SCIM_CONTENT_TYPE}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(err.headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  socket.on('data', () => undefined);
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), 2000);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

/** Fastify's clientErrorHandler: every connection-level error answered with a SCIM body where it can be. */
export function clientErrorHandler(http: HttpLimits) {
  return function (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex): void {
    // A reset connection, or one whose response has begun: nothing can be written (RFC 9112 §9.6).
    const res = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE' || !socket.writable || res?.headersSent) {
      socket.destroy();
      return;
    }
    const scim = clientErrorToScim(err.code, Boolean(res), http);
    // Never the packet itself: it may hold the Authorization header.
    this.log.debug({ code: err.code, status: scim.status }, 'client error');
    writeRawScimError(socket, scim);
  };
}

/**
 * Node's answers that bypass Fastify's routing: `Expect` values other than 100-continue (417) and CONNECT
 * (a proxy method this server does not implement).
 */
export function answerOutsideRouting(app: FastifyInstance): void {
  app.server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    const err = new ScimError(
      417,
      undefined,
      'only "Expect: 100-continue" is supported; drop the Expect header',
    );
    const body = JSON.stringify(err.toJSON());
    res.writeHead(417, { 'Content-Type': SCIM_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  app.server.on('connect', (_req: IncomingMessage, socket: Duplex) =>
    writeRawScimError(
      socket,
      new ScimError(405, undefined, 'CONNECT is not supported: this is a SCIM service, not a proxy', {
        Allow: 'GET, POST, PUT, PATCH, DELETE',
      }),
    ),
  );
}

/**
 * Before routing matters: HTTP/1.1 requires a Host header (RFC 9112 §3.2), and a URL longer than the limit is
 * refused with the way out for long filters (POST /.search, RFC 7644 §3.4.3).
 */
export function checkRequestTarget(http: HttpLimits) {
  return (req: FastifyRequest, _reply: unknown, done: (err?: Error) => void): void => {
    if (req.raw.httpVersion === '1.1' && req.headers.host === undefined)
      return done(
        new ScimError(400, undefined, 'HTTP/1.1 requests must carry a Host header (RFC 9112 §3.2)'),
      );
    if (req.url.length > http.maxUrlBytes) {
      const path = req.url.split('?')[0]!.slice(0, 200).replace(/\/+$/, '');
      const search = /\/(Users|Groups)$/i.test(path)
        ? `${path}/.search`
        : '…/Users/.search or …/Groups/.search';
      return done(
        new ScimError(
          414,
          undefined,
          `the URL is ${req.url.length} bytes; at most ${http.maxUrlBytes} are accepted. Send the query as ` +
            `POST ${search} with the filter and other parameters in a SearchRequest body (RFC 7644 §3.4.3)`,
        ),
      );
    }
    const bad = req.url.includes('%') ? badEscapes(req.url) : undefined;
    if (bad) return done(new ScimError(400, undefined, bad));
    done();
  };
}

/**
 * Percent-escapes the router would decode leniently or pass on to the store: `%00` in the path (ids and the tenant
 * id are looked up as they are, and PostgreSQL text cannot hold NUL: a 500 otherwise; src/scim/unicode.ts), and
 * escapes in the query string that are malformed or not UTF-8 (URLSearchParams would turn them into U+FFFD and
 * search for that). A NUL in a query parameter is the parameter's own error (the filter parser refuses control
 * characters: 400 invalidFilter). The path's other escapes are checked by the router.
 */
function badEscapes(url: string): string | undefined {
  const q = url.indexOf('?');
  if (/%00/.test(q < 0 ? url : url.slice(0, q)))
    return 'the URL path holds %00 (NUL), which no SCIM id or tenant id can contain: remove it';
  if (q < 0) return undefined;
  try {
    decodeURIComponent(url.slice(q + 1));
    return undefined;
  } catch {
    return 'the query string holds an invalid percent-escape (like %ZZ) or percent-encoded bytes that are not UTF-8: encode each UTF-8 byte as %XX (RFC 3986 §2.1)';
  }
}
