/**
 * Operator accounts through the admin API (admin role): the same operations as `joyn-scim operators`. With
 * ADMIN_TOKEN this is also how a deployment without shell access gets its first admin (the bootstrap).
 * A generated password is in the response once; the store keeps only its scrypt hash.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { OperatorRow, OperatorService } from './operators.js';
import { AdminError, actorOf } from './admin-http.js';

const SIGN_IN_NOTICE =
  'The password is shown only this once: hand it to the operator, who can change it after signing in.';

export function operatorView(o: OperatorRow) {
  return {
    id: o.id,
    name: o.name,
    role: o.role,
    state: o.disabledAt
      ? o.failedAttempts >= 20
        ? 'locked'
        : 'disabled'
      : o.lockedUntil && o.lockedUntil > new Date().toISOString()
        ? 'waiting'
        : 'active',
    createdAt: o.createdAt,
    passwordChangedAt: o.passwordChangedAt,
    disabledAt: o.disabledAt,
    failedAttempts: o.failedAttempts,
    lockedUntil: o.lockedUntil,
    lastSignInAt: o.lastSignInAt,
  };
}

function body(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b))
    throw new AdminError(400, 'bad_request', 'the request body must be a JSON object');
  return b as Record<string, unknown>;
}

function optionalString(b: Record<string, unknown>, name: string): string | undefined {
  const v = b[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new AdminError(400, 'bad_request', `"${name}" must be a string`);
  return v;
}

export function registerOperatorRoutes(api: FastifyInstance, deps: { operators: OperatorService }): void {
  const { operators } = deps;
  const idOf = (req: FastifyRequest) => (req.params as { id: string }).id;

  api.get('/operators', { config: { role: 'admin' } }, async () => ({
    operators: (await operators.list()).map(operatorView),
  }));

  api.post('/operators', { config: { role: 'admin' } }, async (req, reply) => {
    const b = body(req);
    const name = optionalString(b, 'name');
    const role = optionalString(b, 'role');
    if (!name || !role)
      throw new AdminError(400, 'bad_request', 'send {"name": "…", "role": "viewer" | "operator" | "admin"}');
    const r = await operators.create(name, role, optionalString(b, 'password'), actorOf(req));
    return reply.code(201).send({
      operator: operatorView(r.operator),
      ...(r.password ? { password: r.password, notice: SIGN_IN_NOTICE } : {}),
    });
  });

  api.get('/operators/:id', { config: { role: 'admin' } }, async (req) => {
    const o = await operators.get(idOf(req));
    const sessions = await operators.sessionsOf(o.id);
    return {
      operator: operatorView(o),
      sessions: sessions.map((s) => ({
        createdAt: s.createdAt,
        lastSeenAt: s.lastSeenAt,
        expiresAt: s.expiresAt,
        clientIp: s.clientIp,
        userAgent: s.userAgent,
      })),
    };
  });

  // Role and enabled/disabled; a change of role or a disable ends the operator's sessions.
  api.patch('/operators/:id', { config: { role: 'admin' } }, async (req) => {
    const b = body(req);
    const role = optionalString(b, 'role');
    const disabled = b.disabled;
    if (disabled !== undefined && typeof disabled !== 'boolean')
      throw new AdminError(400, 'bad_request', '"disabled" must be true or false');
    if (role === undefined && disabled === undefined)
      throw new AdminError(400, 'bad_request', 'send {"role": "…"} and/or {"disabled": true | false}');
    let o = await operators.get(idOf(req));
    if (
      req.principal?.kind === 'session' &&
      req.principal.active.operator.id === o.id &&
      (disabled === true || (role && role !== 'admin'))
    )
      throw new AdminError(
        409,
        'conflict',
        'you cannot disable yourself or lower your own role: ask another admin',
      );
    if (role !== undefined) o = await operators.setRole(o.id, role, actorOf(req));
    if (disabled === true) o = await operators.disable(o.id, actorOf(req));
    if (disabled === false) o = await operators.enable(o.id, actorOf(req));
    return { operator: operatorView(o) };
  });

  api.post('/operators/:id/reset-password', { config: { role: 'admin' } }, async (req) => {
    const r = await operators.resetPassword(idOf(req), optionalString(body(req), 'password'), actorOf(req));
    return {
      operator: operatorView(r.operator),
      ...(r.password ? { password: r.password, notice: SIGN_IN_NOTICE } : {}),
    };
  });

  api.post('/operators/:id/sign-out', { config: { role: 'admin' } }, async (req) => ({
    ended: await operators.signOutEverywhere(idOf(req), actorOf(req)),
  }));
}
