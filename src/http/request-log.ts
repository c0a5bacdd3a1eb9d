/**
 * The server's log: pino JSON lines on stdout, written asynchronously (libuv writes what accumulated, several
 * lines at once under load; pino flushes the rest when the process exits), and one line per request instead of
 * Fastify's two ("incoming request" + "request completed"). The line carries what an operator looks for: method,
 * URL (path and query, never a header or a body, so never a token), status, time taken, tenant and client address,
 * with the request id that every other line of that request carries too.
 */
import pino from 'pino';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Fastify's `logger` options for a level (LOG_LEVEL). */
export function loggerOptions(level: string) {
  return {
    level,
    // No secret in any log: the Authorization header never reaches a log line.
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'],
      censor: '[redacted]',
    },
    ...(level === 'silent' ? {} : { stream: pino.destination({ dest: 1, sync: false }) }),
  };
}

const MAX_URL = 500;

/** The request's line, when it has been answered (Fastify's own request logging is off: disableRequestLogging). */
export function logRequest(req: FastifyRequest, reply: FastifyReply): void {
  const url = req.url.length > MAX_URL ? `${req.url.slice(0, MAX_URL)}…` : req.url;
  req.log.info(
    {
      method: req.method,
      url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      tenant: req.tenantId,
      ip: req.ip,
    },
    'request',
  );
}
