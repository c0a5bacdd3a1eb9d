/**
 * The HTTP server: SCIM routes under /scim/:tenantId/v2, health, metrics. Built as a function so tests
 * drive the real server (inject or a real port) over a real store.
 */
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../config.js';
import { ScimError } from '../scim/errors.js';
import { etagMatches, versionTag } from '../scim/etag.js';
import { checkJsonLimits } from '../scim/limits.js';
import type { ResourceTypeName } from '../scim/types.js';
import type { Store } from '../store/types.js';
import { ResourceService } from '../service/resources.js';
import { TenantService } from '../service/tenants.js';
import { parseProjection, type ListParams } from '../service/query.js';
import { errorHandler, sendScimError, SCIM_CONTENT_TYPE } from './errors.js';
import { registerDiscovery } from './discovery.js';
import { Metrics, registerMetricsRoute } from './metrics.js';
import { AllowedMethods } from './allowed-methods.js';
import { singleAuthorization } from './authorization.js';
import {
  answerOutsideRouting,
  checkRequestTarget,
  clientErrorHandler,
  nodeServerOptions,
} from './node-server.js';
import { registerAdmin } from '../admin/routes.js';
import { ApiKeyService } from '../events/api-keys.js';
import { adminApiKeyRoutes, registerEventsApi } from '../events/routes.js';
import { TenantSignals } from '../events/tenant-signals.js';
import { ActivityLog } from '../service/activity-log.js';
import { loggerOptions, logRequest } from './request-log.js';
import { registerActivityLog } from './activity-log.js';
import { RequestCounters } from './request-counters.js';
import { createSelfServe, type SelfServe } from '../setup/self-serve.js';

export interface AppDeps {
  store: Store;
  config: Config;
  clock?: () => Date;
}

export interface App {
  app: FastifyInstance;
  tenants: TenantService;
  resources: ResourceService;
  apiKeys: ApiKeyService;
  signals: TenantSignals;
  metrics: Metrics;
  activity: ActivityLog;
  /** OAuth clients, setup links and connection state (issue 15). */
  selfServe: SelfServe;
  /** Resolves when every activity entry recorded so far is written (graceful shutdown awaits it). */
  drain(): Promise<void>;
}

/** Where the SCIM routes of a tenant live (its Tenant URL is PUBLIC_URL + this). */
const SCIM_PREFIX = '/scim/:tenantId/v2';

const RESOURCE_ROUTES: { path: string; rt: ResourceTypeName }[] = [
  { path: 'Users', rt: 'User' },
  { path: 'Groups', rt: 'Group' },
];

export async function buildApp(deps: AppDeps): Promise<App> {
  const { store, config } = deps;
  const clock = deps.clock ?? (() => new Date());
  // The activity log warns through the app's logger, which exists only below: bind it late.
  let warn: (err: unknown, msg: string) => void = () => undefined;
  const activity = new ActivityLog(store, (err, msg) => warn(err, msg));
  const tenants = new TenantService(store, () => config.publicUrl, clock, config.tokenCacheMs, activity);
  const resources = new ResourceService(
    store,
    config.limits,
    (t) => tenants.tenantUrl(t),
    clock,
    config.events.enabled,
  );
  const apiKeys = new ApiKeyService(store, clock, config.tokenCacheMs);
  const selfServe = createSelfServe({
    store,
    config,
    clock,
    tenants,
    warn: (err, msg) => app.log.warn({ err }, msg),
  });

  const metrics = new Metrics(store);
  // Requests per tenant per minute for the console's health page, flushed to the store every 15 s.
  const counters = new RequestCounters(store, clock);
  /** After every SCIM response (set when the SCIM routes are registered below). */
  let scimResponded: ((req: FastifyRequest, reply: FastifyReply) => void) | undefined;

  const app = Fastify({
    logger: loggerOptions(config.logLevel),
    // One line per request (request-log.ts) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.limits.maxPayloadSize,
    // Header size and timeouts against slow or oversized clients, HTTPS when TLS_CERT/TLS_KEY are set.
    ...(nodeServerOptions(config) as { http?: import('node:http').ServerOptions; requestTimeout: number }),
    // What Node rejects before routing (malformed HTTP, oversized headers, timeouts) gets a SCIM body too.
    clientErrorHandler: clientErrorHandler(config.http),
    frameworkErrors: (err, _req, reply) => sendScimError(reply, frameworkError(err)),
    // Entra appends /Users etc. to whatever Tenant URL the admin pasted: tolerate // and case (spec §0).
    routerOptions: {
      caseSensitive: false,
      ignoreDuplicateSlashes: true,
      ignoreTrailingSlash: true,
      // Ids are UUIDs; a longer path segment is refused (414) before any lookup.
      maxParamLength: MAX_PARAM_LENGTH,
      // `+` is a space in Entra's queries (spec §1.3): parse the query string as a form.
      querystringParser: (s: string) => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of new URLSearchParams(s)) {
          const prev = out[k];
          out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
        }
        return out;
      },
    },
    forceCloseConnections: false,
    return503OnClosing: true,
  });

  warn = (err, msg) => app.log.warn({ err }, msg);
  answerOutsideRouting(app);
  // Bodies: JSON in UTF-8 (RFC 8259 §8.1) as application/scim+json, application/json or another +json type,
  // with or without charset; a body without Content-Type is tried as JSON. Every body meets checkJsonLimits
  // before anything else reads it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      checkMediaType(req.headers['content-type']);
      const text = decodeUtf8(body as Buffer);
      if (text.trim() === '') return done(null, undefined);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw new ScimError(
          400,
          'invalidSyntax',
          `the request body is not valid JSON: ${(e as Error).message}`,
        );
      }
      checkJsonLimits(value, config.limits);
      done(null, value);
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  app.setErrorHandler(errorHandler);
  const signals = new TenantSignals(store, clock, config.events.enabled, (err, msg) =>
    app.log.warn({ err }, msg),
  );
  const allowed = new AllowedMethods();
  app.addHook('onRoute', (route) => allowed.add(route.url, route.method));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const methods = allowed.for(path);
    if (methods.length)
      return sendScimError(
        reply,
        new ScimError(
          405,
          undefined,
          `${req.method} is not allowed on this endpoint; use ${methods.join(', ')}`,
          {
            Allow: methods.join(', '),
          },
        ),
      );
    return sendScimError(
      reply,
      new ScimError(
        404,
        undefined,
        `no such endpoint: ${req.method} ${path.slice(0, 300)}. SCIM endpoints live under /scim/<tenant-id>/v2 (/Users, /Groups, /Schemas, /ResourceTypes, /ServiceProviderConfig)`,
      ),
    );
  });
  app.addHook('onRequest', checkRequestTarget(config.http));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await store.health();
      return { status: 'ok', store: store.dialect };
    } catch {
      return reply.code(503).header('Retry-After', '5').send({ status: 'unavailable', store: store.dialect });
    }
  });
  registerMetricsRoute(app, config, metrics);

  // Hooks on every request's path are callback-style where they do not wait for anything (no promise each).
  // One hook after every response: metrics, the request's log line and, for a SCIM route, the tenant's request
  // counters, its connection state (issue 15) and its provisioning activity log (every write and every failure,
  // never a body or a token), all counted in memory or buffered: nothing here waits for the store.
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions?.url;
    metrics.observe(req.method, route ?? 'unknown', reply.statusCode, reply.elapsedTime);
    logRequest(req, reply);
    if (route !== undefined && route.startsWith(SCIM_PREFIX)) {
      selfServe.observe(req, reply);
      scimResponded?.(req, reply);
    }
    done();
  });

  await app.register(
    async (scim) => {
      // Authentication for every SCIM request, before the body is parsed. Callback-style: a token the cache
      // vouches for is accepted without a promise (TenantService.authenticateNow).
      scim.addHook('onRequest', (req, reply, done) => {
        // Every SCIM answer is application/scim+json (RFC 7644 §3.1); Fastify serializes objects as JSON under it.
        // Set here, once, rather than rewritten in an onSend hook on every response.
        reply.header('content-type', SCIM_CONTENT_TYPE);
        const tenantId = (req.params as { tenantId: string }).tenantId;
        const accepted = () => {
          signals.authenticated(tenantId);
          req.tenantId = tenantId;
          done();
        };
        const refused = (err: unknown) => {
          if (err instanceof ScimError && err.status === 401)
            signals.rejected(tenantId, req.headers['user-agent']);
          done(err as Error);
        };
        let r: ReturnType<TenantService['authenticateNow']>;
        try {
          r = tenants.authenticateNow(tenantId, singleAuthorization(req.raw));
        } catch (err) {
          return refused(err);
        }
        if (r instanceof Promise) r.then(accepted, refused);
        else accepted();
      });
      if (config.rateLimitPerMinute > 0) {
        await scim.register(rateLimit, {
          max: config.rateLimitPerMinute,
          timeWindow: 60_000,
          hook: 'preHandler',
          keyGenerator: (req) => (req.params as { tenantId?: string }).tenantId ?? req.ip,
          errorResponseBuilder: (_req, ctx) => {
            const seconds = Math.max(1, Math.ceil(ctx.ttl / 1000));
            return new ScimError(
              429,
              undefined,
              `more than ${ctx.max} requests per minute for this tenant; retry after ${seconds} s`,
              {
                'Retry-After': String(seconds),
              },
            );
          },
        });
      }
      // The tenant's provisioning activity log: every write and every failure, explained (activity-log.ts),
      // written in batches off the request path (service/activity-log.ts).
      scimResponded = registerActivityLog(scim, { store, clock, log: activity, counters });

      registerDiscovery(scim, config);

      for (const { path, rt } of RESOURCE_ROUTES) {
        const note = (req: FastifyRequest, id?: string, summary?: string, resource?: unknown) => {
          req.activity = {
            resourceType: rt,
            ...(id ? { resourceId: id } : {}),
            ...(summary ? { summary } : {}),
            ...(resource !== undefined ? { resource } : {}),
          };
        };
        const single = (reply: FastifyReply, id: string, version: number, status: number) =>
          reply
            .code(status)
            .header('ETag', `W/"${version}"`)
            .header('Location', `${tenants.tenantUrl(reply.request.tenantId!)}/${path}/${id}`);

        scim.get(`/${path}`, async (req) => resources.list(req.tenantId!, rt, req.query as ListParams));
        scim.post(`/${path}/.search`, async (req) =>
          resources.list(req.tenantId!, rt, searchParams(req.body)),
        );
        scim.post(`/${path}`, async (req, reply) => {
          const r = await resources.create(req.tenantId!, rt, requireBody(req.body));
          note(req, r.id, r.summary, r.resource);
          return single(reply, r.id, r.version, 201).send(r.resource);
        });
        scim.get(`/${path}/:id`, async (req, reply) => {
          const { id } = req.params as { id: string };
          const r = await resources.getVersioned(req.tenantId!, rt, id, req.query as ListParams);
          reply.header('ETag', versionTag(r.version));
          // RFC 9110 §13.1.2: the client's copy is current → 304 without a body (weak comparison).
          const inm = req.headers['if-none-match'];
          if (inm !== undefined && etagMatches(inm, r.version)) return reply.code(304).send();
          return r.resource;
        });
        scim.put(`/${path}/:id`, async (req, reply) => {
          const { id } = req.params as { id: string };
          const r = await resources.replace(req.tenantId!, rt, id, requireBody(req.body), ifMatch(req));
          note(req, id, r.summary, r.resource);
          return reply.code(200).header('ETag', `W/"${r.version}"`).send(r.resource);
        });
        scim.patch(`/${path}/:id`, async (req, reply) => {
          const { id } = req.params as { id: string };
          const q = req.query as ListParams;
          // RFC 7644 §3.5.2: 200 with the resource, or 204. Microsoft's reference suite and Entra prefer 204;
          // a client that asks for attributes (or Prefer: return=representation) gets the resource.
          const wantBody =
            q.attributes !== undefined ||
            q.excludedAttributes !== undefined ||
            /return=representation/i.test(String(req.headers.prefer ?? ''));
          const r = await resources.patch(
            req.tenantId!,
            rt,
            id,
            requireBody(req.body),
            wantBody ? parseProjection(q) : undefined,
            ifMatch(req),
          );
          note(req, id, r.summary, r.resource);
          reply.header('ETag', `W/"${r.version}"`);
          return wantBody ? reply.code(200).send(r.resource) : reply.code(204).send();
        });
        scim.delete(`/${path}/:id`, async (req, reply) => {
          const { id } = req.params as { id: string };
          const deleted = await resources.delete(req.tenantId!, rt, id, ifMatch(req));
          // Whom it was: its entry is where the activity log later finds the name of a deleted id (a 404 for it).
          note(req, id, `deleted ${rt.toLowerCase()} ${id}`, deleted);
          return reply.code(204).send();
        });
      }

      // POST /.search at the root searches Users, then Groups, as one result list (RFC 7644 §3.4.3).
      scim.post('/.search', async (req) =>
        rootSearch(resources, req.tenantId!, searchParams(req.body), config.limits.defaultCount),
      );
      scim.all('/Bulk', async () => {
        throw new ScimError(
          501,
          undefined,
          'Bulk is not supported (ServiceProviderConfig bulk.supported = false); send individual requests',
        );
      });
    },
    { prefix: SCIM_PREFIX },
  );
  // The operator API and web console (/admin); answers 404 unless ADMIN_TOKEN is set.
  await registerAdmin(app, {
    tenants,
    resources,
    config,
    store,
    counters,
    extend: (api) => {
      adminApiKeyRoutes(api, apiKeys);
      selfServe.adminRoutes(api);
    },
  });
  await registerEventsApi(app, { store, apiKeys, resources });
  await selfServe.register(app);
  const drain = async () => {
    await activity.drain();
    await signals.drain();
    await selfServe.stop();
  };
  return { app, tenants, resources, apiKeys, signals, metrics, activity, selfServe, drain };
}

/** The If-Match header (RFC 7644 §3.14), when the client sent one. */
function ifMatch(req: FastifyRequest): string | undefined {
  const v = req.headers['if-match'];
  return Array.isArray(v) ? v.join(',') : v;
}

function requireBody(body: unknown): unknown {
  if (body === undefined) throw new ScimError(400, 'invalidSyntax', 'the request needs a JSON body');
  return body;
}

const MAX_PARAM_LENGTH = 100;

/** Fastify's routing errors (bad percent-escapes, overlong path segments) as SCIM errors. */
function frameworkError(err: { code?: string }): ScimError {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH')
    return new ScimError(
      414,
      undefined,
      `a path segment is longer than ${MAX_PARAM_LENGTH} characters; tenant ids and resource ids are far shorter: check the URL`,
    );
  return new ScimError(
    400,
    undefined,
    'the URL path holds an invalid percent-escape (like %ZZ) or percent-encoded bytes that are not UTF-8: encode each UTF-8 byte as %XX',
  );
}

const JSON_TYPES = new Set(['application/scim+json', 'application/json']);

/** 415 unless the body is JSON; a charset other than UTF-8 is refused too (RFC 8259 §8.1). */
function checkMediaType(header: string | undefined): void {
  if (header === undefined) return;
  const [type = '', ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice(8)
    .replace(/"/g, '');
  const json = JSON_TYPES.has(type) || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
  if (json && (charset === undefined || charset === 'utf-8' || charset === 'utf8')) return;
  throw new ScimError(
    415,
    undefined,
    `the body is sent as '${header.slice(0, 100)}'; send JSON as application/scim+json (or application/json) in UTF-8`,
  );
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text; bytes that are not UTF-8 are refused rather than silently replaced with U+FFFD. */
function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new ScimError(
      400,
      'invalidSyntax',
      'the request body is not valid UTF-8; send JSON encoded as UTF-8',
    );
  }
}

/** The body of POST /.search (RFC 7644 §3.4.3) as list parameters. */
function searchParams(body: unknown): ListParams {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ScimError(400, 'invalidSyntax', 'the .search body must be a SearchRequest object');
  const b = Object.fromEntries(
    Object.entries(body as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const str = (k: string): string | undefined => {
    const v = b[k.toLowerCase()];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    throw new ScimError(400, 'invalidValue', `${k} must be a string`);
  };
  const list = (k: string): string | undefined => {
    const v = b[k.toLowerCase()];
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
    if (typeof v === 'string') return v;
    throw new ScimError(400, 'invalidValue', `${k} must be an array of attribute names`);
  };
  return {
    filter: str('filter'),
    startIndex: str('startIndex'),
    count: str('count'),
    sortBy: str('sortBy'),
    sortOrder: str('sortOrder'),
    attributes: list('attributes'),
    excludedAttributes: list('excludedAttributes'),
    cursor: str('cursor'),
  };
}

async function rootSearch(
  resources: ResourceService,
  tenantId: string,
  p: ListParams,
  defaultCount: number,
): Promise<Record<string, unknown>> {
  if (p.cursor !== undefined)
    throw new ScimError(
      400,
      'invalidValue',
      'cursor paging is available on /Users/.search and /Groups/.search, not on the root /.search',
    );
  // A filter attribute that one resource type lacks means "no match" there, not an error (RFC 7644 §3.4.3).
  const count = async (rt: ResourceTypeName): Promise<number | ScimError> => {
    try {
      return Number((await resources.list(tenantId, rt, { ...p, startIndex: 1, count: 0 })).totalResults);
    } catch (e) {
      if (e instanceof ScimError && e.scimType === 'invalidFilter') return e;
      throw e;
    }
  };
  const [nu, ng] = [await count('User'), await count('Group')];
  if (nu instanceof ScimError && ng instanceof ScimError) throw nu;
  const usersTotal = typeof nu === 'number' ? nu : 0;
  const groupsTotal = typeof ng === 'number' ? ng : 0;
  const start = Math.max(1, Number(p.startIndex ?? 1) || 1);
  const want = p.count === undefined ? defaultCount : Math.max(0, Number(p.count) || 0);
  const out: unknown[] = [];
  if (want > 0 && start <= usersTotal) {
    const page = await resources.list(tenantId, 'User', { ...p, startIndex: start, count: want });
    out.push(...(page.Resources as unknown[]));
  }
  const remaining = want - out.length;
  if (remaining > 0 && groupsTotal > 0) {
    const gStart = Math.max(1, start - usersTotal);
    const page = await resources.list(tenantId, 'Group', { ...p, startIndex: gStart, count: remaining });
    out.push(...(page.Resources as unknown[]));
  }
  return {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    totalResults: usersTotal + groupsTotal,
    itemsPerPage: out.length,
    startIndex: start,
    Resources: out,
  };
}
