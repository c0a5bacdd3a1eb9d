/**
 * Console sessions: sign in (the one anonymous admin route), who am I, sign out, sign out everywhere, change my
 * password. The session secret travels only in the HttpOnly cookie; the page gets the CSRF token derived from it.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { AdminAuth } from './auth.js';
import { SignInRefused, type ActiveSession, type OperatorService } from './operators.js';
import { AdminError, actorOf } from './admin-http.js';

/** Sign-in attempts per client address per minute, whichever names they try (the per-account backoff is separate). */
export const SIGN_IN_ATTEMPTS_PER_MINUTE = 30;

function stringBody(body: unknown, name: string): string {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  if (typeof v !== 'string' || v === '')
    throw new AdminError(400, 'bad_request', `the body needs a non-empty string "${name}"`);
  return v;
}

function sessionOf(req: FastifyRequest): ActiveSession & { sessionToken: string } {
  const p = req.principal;
  if (p?.kind !== 'session')
    throw new AdminError(
      404,
      'not_found',
      'no console session: this request carries ADMIN_TOKEN, which signs nothing in (sign in with an operator account)',
    );
  return { ...p.active, sessionToken: p.sessionToken };
}

const view = (s: ActiveSession) => ({
  operator: { id: s.operator.id, name: s.operator.name, role: s.operator.role },
  csrfToken: s.csrfToken,
  expiresAt: s.session.expiresAt,
  idleExpiresAt: s.idleExpiresAt,
});

export function registerSessionRoutes(
  api: FastifyInstance,
  deps: { operators: OperatorService; auth: AdminAuth; config: Config },
): void {
  const { operators, auth, config } = deps;

  void api.register(async (scoped) => {
    await scoped.register(rateLimit, {
      global: false,
      errorResponseBuilder: (_req, ctx) => {
        const seconds = Math.max(1, Math.ceil(ctx.ttl / 1000));
        return new AdminError(
          429,
          'too_many_requests',
          `more than ${ctx.max} sign-in attempts a minute from this address; retry after ${seconds} s`,
          { 'Retry-After': String(seconds) },
        );
      },
    });
    scoped.post(
      '/session',
      {
        config: {
          role: 'anonymous',
          rateLimit: { max: SIGN_IN_ATTEMPTS_PER_MINUTE, timeWindow: 60_000, keyGenerator: (req) => req.ip },
        },
      },
      async (req, reply) => {
        const name = stringBody(req.body, 'name');
        const password = stringBody(req.body, 'password');
        try {
          const s = await operators.signIn(name, password, {
            ip: req.ip,
            ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
          });
          auth.setSessionCookie(req, reply, s.sessionToken, config.console.sessionMaxMs);
          return reply.code(201).send({
            operator: { id: s.operator.id, name: s.operator.name, role: s.operator.role },
            csrfToken: s.csrfToken,
            expiresAt: s.expiresAt,
            idleExpiresAt: s.idleExpiresAt,
          });
        } catch (e) {
          if (e instanceof SignInRefused)
            throw new AdminError(
              e.status,
              e.status === 429 ? 'too_many_requests' : 'unauthorized',
              e.message,
              e.retryAfterSeconds ? { 'Retry-After': String(e.retryAfterSeconds) } : {},
            );
          throw e;
        }
      },
    );
  });

  api.get('/session', { config: { role: 'viewer' } }, async (req) => view(sessionOf(req)));

  api.delete('/session', { config: { role: 'viewer' } }, async (req, reply) => {
    const s = sessionOf(req);
    await operators.signOut(s.sessionToken);
    auth.clearSessionCookie(req, reply);
    return reply.code(204).send();
  });

  api.post('/session/sign-out-everywhere', { config: { role: 'viewer' } }, async (req, reply) => {
    const s = sessionOf(req);
    const ended = await operators.signOutEverywhere(s.operator.id, actorOf(req));
    auth.clearSessionCookie(req, reply);
    return { ended };
  });

  api.post('/session/password', { config: { role: 'viewer' } }, async (req, reply) => {
    const s = sessionOf(req);
    await operators.changeOwnPassword(
      s,
      stringBody(req.body, 'currentPassword'),
      stringBody(req.body, 'newPassword'),
      actorOf(req),
    );
    return reply.code(204).send();
  });
}
