/**
 * Who is calling the admin API, and may they call this route.
 *
 * Two kinds of caller:
 * - an operator signed in to the console: the session cookie (HttpOnly, SameSite=Strict, Secure on HTTPS). A request
 *   that changes something must also carry the session's CSRF token in X-CSRF-Token, and must not come from
 *   another origin (Origin / Sec-Fetch-Site). A page elsewhere can make the browser send the cookie only on
 *   same-site requests, and can never read the token: a forged form post or fetch is refused with 403.
 * - automation with `Authorization: Bearer <ADMIN_TOKEN>` (the bootstrap and automation key): role admin. Nothing
 *   ambient, so no CSRF token. Any other bearer value, a SCIM Secret Token included, is refused with 401.
 *
 * Every route declares the least role it needs (`config.role`: viewer < operator < admin; `anonymous` only for
 * signing in); an undeclared route needs admin. A role below it gets 403.
 */
import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { singleAuthorization } from '../http/authorization.js';
import { hashesEqual, hashToken } from '../service/tokens.js';
import type { Actor } from '../store/types.js';
import {
  csrfMatches,
  ROLE_RANK,
  type ActiveSession,
  type OperatorRole,
  type OperatorService,
} from './operators.js';

export type RouteRole = OperatorRole | 'anonymous';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role a route of the admin API needs (src/admin/auth.ts). */
    role?: RouteRole;
  }
  interface FastifyRequest {
    /** Who is calling the admin API, set by its authentication hook. */
    principal?: Principal;
  }
}

export type Principal =
  | { kind: 'admin-token'; role: 'admin'; actor: Actor }
  | { kind: 'session'; role: OperatorRole; actor: Actor; active: ActiveSession; sessionToken: string };

/** The cookie: `__Host-` on HTTPS (the browser then insists on Secure, Path=/ and no Domain). */
const COOKIE_PLAIN = 'joyn_console';
const COOKIE_HOST = '__Host-joyn_console';

/** An error the admin API renders as `{error, detail}` (the same shape as AdminError in routes.ts). */
export class AuthError extends Error {
  constructor(
    readonly status: 401 | 403 | 404,
    readonly code: string,
    readonly detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = 'AuthError';
  }
}

/** Constant-time comparison of the presented Authorization header with ADMIN_TOKEN (hashes have equal length). */
export function adminTokenMatches(expected: string, authorization: string | undefined): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return hashesEqual(hashToken(m?.[1] ?? ''), hashToken(expected)) && m !== null;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class AdminAuth {
  constructor(
    private readonly config: Config,
    private readonly operators: OperatorService,
  ) {}

  /** HTTPS as the browser sees it: built-in TLS, or a TLS proxy in front of a PUBLIC_URL that says https. */
  secure(req: FastifyRequest): boolean {
    return req.protocol === 'https' || /^https:/i.test(this.config.publicUrl);
  }

  sessionCookie(req: FastifyRequest): string | undefined {
    const header = req.headers.cookie;
    if (!header) return undefined;
    const jar = parseCookies(header);
    return jar[COOKIE_HOST] ?? jar[COOKIE_PLAIN] ?? undefined;
  }

  setSessionCookie(req: FastifyRequest, reply: FastifyReply, token: string, maxAgeMs: number): void {
    const secure = this.secure(req);
    reply.header(
      'set-cookie',
      serializeCookie(secure ? COOKIE_HOST : COOKIE_PLAIN, token, {
        httpOnly: true,
        secure,
        sameSite: 'strict',
        path: secure ? '/' : '/admin',
        maxAge: Math.floor(maxAgeMs / 1000),
      }),
    );
  }

  clearSessionCookie(req: FastifyRequest, reply: FastifyReply): void {
    const secure = this.secure(req);
    reply.header(
      'set-cookie',
      serializeCookie(secure ? COOKIE_HOST : COOKIE_PLAIN, '', {
        httpOnly: true,
        secure,
        sameSite: 'strict',
        path: secure ? '/' : '/admin',
        maxAge: 0,
      }),
    );
  }

  /**
   * The request comes from a page of this server: no `Sec-Fetch-Site: cross-site`, and an Origin (when the browser
   * sends one, which it does on every POST, PUT, PATCH and DELETE) equal to this server's, as PUBLIC_URL names it or
   * as the request's own Host says.
   */
  sameOrigin(req: FastifyRequest): boolean {
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') return false;
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    const own = new Set<string>();
    try {
      own.add(new URL(this.config.publicUrl).origin);
    } catch {
      // PUBLIC_URL is validated by config.ts; nothing to add if it is not a URL.
    }
    if (req.headers.host) own.add(`${req.protocol}://${req.headers.host}`);
    return own.has(origin);
  }

  /** The onRequest check of every admin API route: sets req.principal or throws AuthError. */
  async check(req: FastifyRequest): Promise<void> {
    const need: RouteRole = req.routeOptions.config?.role ?? 'admin';
    if (need === 'anonymous') {
      if (!this.sameOrigin(req))
        throw new AuthError(
          403,
          'forbidden',
          'sign in from the console page of this server (cross-origin request refused)',
        );
      return;
    }
    // Two Authorization lines are refused as on SCIM (src/http/authorization.ts): Node would keep only the first.
    const authorization = singleAuthorization(
      req.raw,
      (detail) =>
        new AuthError(401, 'unauthorized', detail, { 'WWW-Authenticate': 'Bearer realm="joyn-scim-admin"' }),
      'Bearer <ADMIN_TOKEN> (or none, with a console session)',
    );
    let principal: Principal;
    if (authorization !== undefined) {
      if (!this.config.adminToken || !adminTokenMatches(this.config.adminToken, authorization))
        throw new AuthError(
          401,
          'unauthorized',
          this.config.adminToken
            ? 'the admin token is not valid (the admin API takes ADMIN_TOKEN or a console session, never a SCIM Secret Token)'
            : 'this server has no ADMIN_TOKEN: sign in to the console with an operator account',
          { 'WWW-Authenticate': 'Bearer realm="joyn-scim-admin"' },
        );
      principal = {
        kind: 'admin-token',
        role: 'admin',
        actor: { via: 'admin-api', name: `admin token from ${req.ip}` },
      };
    } else {
      const token = this.sessionCookie(req);
      const active = token ? await this.operators.session(token) : undefined;
      if (!token || !active)
        throw new AuthError(
          401,
          'unauthorized',
          token
            ? 'your console session has ended (expired, signed out, or the account changed): sign in again'
            : 'sign in to the console (operator account), or send Authorization: Bearer <ADMIN_TOKEN>',
          { 'WWW-Authenticate': 'Bearer realm="joyn-scim-admin"' },
        );
      // A state-changing request must prove it comes from the console page: same origin, and the CSRF token only
      // that page was given.
      if (!SAFE_METHODS.has(req.method)) {
        const presented = req.headers['x-csrf-token'];
        if (!this.sameOrigin(req) || !csrfMatches(token, Array.isArray(presented) ? presented[0] : presented))
          throw new AuthError(
            403,
            'csrf',
            'refused: this request did not come from the console page (the X-CSRF-Token header or the Origin is missing or wrong); reload the console and try again',
          );
      }
      principal = {
        kind: 'session',
        role: active.operator.role,
        actor: { via: 'console', name: active.operator.name },
        active,
        sessionToken: token,
      };
    }
    req.principal = principal;
    if (ROLE_RANK[principal.role] < ROLE_RANK[need])
      throw new AuthError(
        403,
        'forbidden',
        `this needs the ${need} role; ${principal.kind === 'session' ? `'${principal.active.operator.name}' is ${principal.role}` : 'your role is lower'}`,
      );
  }
}
