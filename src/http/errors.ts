/** Renders every failure as an RFC 7644 §3.12 error body; nothing reaches the client as a bare 500 page. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ScimError } from '../scim/errors.js';
import { storeFaultError } from '../store/faults.js';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

/** Maps framework errors (body parsing, size limits, rate limits) to ScimErrors with actionable details. */
export function toScimError(err: unknown): ScimError | undefined {
  if (err instanceof ScimError) return err;
  const e = err as Partial<FastifyError> & { statusCode?: number };
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ScimError(
        400,
        'invalidSyntax',
        `the request body is not valid JSON: ${e.message ?? ''}`.trim(),
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ScimError(
        413,
        undefined,
        // Fastify's message carries no number, so point at where the limit is published.
        'the request body is larger than this server accepts; send a smaller body (the limit in bytes is ServiceProviderConfig bulk.maxPayloadSize)',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ScimError(415, undefined, 'send the body as application/scim+json or application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ScimError(400, 'invalidSyntax', 'the Content-Length header does not match the body');
  }
  if (err instanceof SyntaxError)
    return new ScimError(400, 'invalidSyntax', `the request body is not valid JSON: ${err.message}`);
  if (e.statusCode === 429) return new ScimError(429, undefined, e.message ?? 'too many requests');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return new ScimError(e.statusCode, undefined, e.message ?? 'bad request');
  return undefined;
}

export function sendScimError(reply: FastifyReply, err: ScimError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply.code(err.status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(err.toJSON()));
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const scim = toScimError(err) ?? storeFaultError(err);
  if (scim) {
    if (scim.status === 503)
      req.log.warn(
        { err, tenant: (req.params as { tenantId?: string } | undefined)?.tenantId },
        'store fault',
      );
    return sendScimError(reply, scim);
  }
  // Unknown failure: log the cause with tenant, method and path; tell the client only that it failed.
  req.log.error(
    {
      err,
      tenant: (req.params as { tenantId?: string } | undefined)?.tenantId,
      method: req.method,
      path: req.routeOptions?.url,
    },
    'unhandled error',
  );
  return sendScimError(
    reply,
    new ScimError(
      500,
      undefined,
      'internal server error; the request was not applied. Retry later; if it persists, contact Joyn FSM support with the time of the request',
    ),
  );
}
