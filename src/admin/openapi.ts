/**
 * The admin API described as an OpenAPI 3.1 document, served at GET /admin/api/openapi.json. Each operation names
 * the least role it needs (`x-role`, the same value the route declares). test/admin/openapi.test.ts checks that the
 * routes the server registers and the paths here are the same set, and validates real responses against the
 * schemas (JSON Schema 2020-12, which OpenAPI 3.1 uses as it is).
 */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer' };
const bool: Schema = { type: 'boolean' };
const time: Schema = { type: 'string', format: 'date-time' };
const nullable = (s: Schema): Schema => ({ ...s, type: [s.type as string, 'null'] });
const arr = (items: Schema): Schema => ({ type: 'array', items });
const nullableRef = (name: string): Schema => ({ anyOf: [ref(name), { type: 'null' }] });
/** An object whose properties are all present (the API always sends them), and nothing else. */
const obj = (properties: Record<string, Schema>, optional: string[] = []): Schema => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  additionalProperties: false,
});

const ROLE_TEXT: Record<string, string> = {
  anonymous: 'No authentication (signing in).',
  viewer: 'Needs the **viewer** role or above (or ADMIN_TOKEN).',
  operator: 'Needs the **operator** role or above (or ADMIN_TOKEN).',
  admin: 'Needs the **admin** role (or ADMIN_TOKEN).',
};

interface Op {
  role: 'anonymous' | 'viewer' | 'operator' | 'admin';
  tag: string;
  summary: string;
  description?: string;
  query?: Record<string, Schema & { description?: string }>;
  body?: Schema;
  /** Status → schema of the JSON body (null: no body). */
  ok: Record<number, Schema | null | { stream: string }>;
  errors?: number[];
}

function operation(path: string, o: Op): Schema {
  const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: str,
  }));
  const query = Object.entries(o.query ?? {}).map(([name, { description, ...schema }]) => ({
    name,
    in: 'query',
    required: false,
    schema,
    ...(description ? { description } : {}),
  }));
  const responses: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(o.ok)) {
    if (schema === null) responses[status] = { description: 'No content.' };
    else if ('stream' in schema)
      responses[status] = {
        description: schema.stream as string,
        content: { 'text/event-stream': { schema: str } },
      };
    else responses[status] = { description: 'Success.', content: { 'application/json': { schema } } };
  }
  const errs = [...new Set([...(o.role === 'anonymous' ? [] : [401, 403]), ...(o.errors ?? [])])].sort();
  for (const e of errs) responses[String(e)] = { $ref: `#/components/responses/E${e}` };
  return {
    tags: [o.tag],
    summary: o.summary,
    description: [o.description, ROLE_TEXT[o.role]].filter(Boolean).join('\n\n'),
    'x-role': o.role,
    ...(params.length || query.length ? { parameters: [...params, ...query] } : {}),
    ...(o.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: o.body } } } }
      : {}),
    responses,
    ...(o.role === 'anonymous' ? { security: [] } : {}),
  };
}

const activityFilters = {
  status: { type: 'string', description: '2xx, 4xx, 5xx or a status code such as 401' },
  operation: {
    type: 'string',
    enum: ['create', 'replace', 'patch', 'delete', 'get', 'list', 'search', 'discovery', 'other'],
  },
  resourceType: { type: 'string', enum: ['User', 'Group'] },
  resourceId: str,
  text: {
    type: 'string',
    description: 'in the userName, externalId or displayName, or equal to the resource id',
  },
  since: { type: 'string', format: 'date-time' },
  until: { type: 'string', format: 'date-time' },
};

const paging = {
  filter: { type: 'string', description: 'SCIM filter (RFC 7644 §3.4.2.2), e.g. userName sw "j"' },
  startIndex: { type: 'integer', minimum: 1 },
  count: { type: 'integer', minimum: 0, description: 'page size (default 25)' },
  sortBy: str,
  sortOrder: { type: 'string', enum: ['ascending', 'descending'] },
};

const webhookEndpointFields = {
  id: str,
  url: str,
  description: str,
  tenantId: { ...nullable(str), description: 'null: the events of every tenant' },
  types: { ...arr(str), description: 'the event types it receives; empty: every type' },
  enabled: bool,
  disabledReason: nullable(str),
  disabledAt: nullable(time),
  failingSince: { ...nullable(time), description: 'first failure of the current failing streak' },
  lastSuccessAt: nullable(time),
  previousSecretExpiresAt: {
    ...nullable(time),
    description: 'while a rotation overlaps, the previous secret signs too until then',
  },
  createdAt: time,
  updatedAt: time,
  secretHint: { type: 'string', description: 'the first characters of the signing secret, never the secret' },
};

const webhookAttemptFields = {
  attempt: int,
  at: time,
  status: { ...nullable(int), description: 'the receiver’s HTTP status; null when no answer came' },
  durationMs: int,
  responseHead: { ...nullable(str), description: 'the first bytes of the answer (at most 1 KiB)' },
  error: nullable(str),
  outcome: { type: 'string', enum: ['delivered', 'retry', 'given_up', 'endpoint_disabled'] },
};

const webhookDeliveryFields = {
  id: int,
  endpointId: str,
  tenantId: nullable(str),
  eventId: str,
  eventType: str,
  occurredAt: time,
  origin: { type: 'string', enum: ['event', 'redelivery', 'ping'] },
  state: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
  attempts: int,
  nextAttemptAt: {
    ...nullable(time),
    description: 'null while it waits behind an earlier event of the same resource, or once finished',
  },
  firstAttemptAt: nullable(time),
  lastStatus: nullable(int),
  lastError: nullable(str),
  createdAt: time,
  finishedAt: nullable(time),
  leaseOwner: nullable(str),
  leaseExpiresAt: nullable(time),
};

/** Webhooks (issue 12; docs/events.md "Webhooks"). */
const WEBHOOK_SCHEMAS: Record<string, Schema> = {
  WebhookEndpoint: obj(webhookEndpointFields),
  CreatedWebhookEndpoint: obj({
    ...webhookEndpointFields,
    secret: { type: 'string', description: 'The signing secret: in this response only.' },
  }),
  WebhookAttempt: obj({ id: int, deliveryId: int, ...webhookAttemptFields }),
  WebhookDelivery: obj({ ...webhookDeliveryFields, attemptLog: arr(ref('WebhookAttempt')) }, ['attemptLog']),
  WebhookDeliveryDetail: obj({
    ...webhookDeliveryFields,
    payload: { type: 'object', description: 'the body as delivered: the event envelope (or a webhook.ping)' },
    attemptLog: arr(ref('WebhookAttempt')),
  }),
  WebhookPing: obj({ deliveryId: int, ...webhookAttemptFields }),
};

const oauthClientFields = {
  clientId: str,
  name: str,
  secretHint: str,
  createdAt: time,
  lastUsedAt: nullable(time),
  revokedAt: nullable(time),
  active: bool,
};
const setupLinkFields = {
  id: str,
  hint: str,
  createdAt: time,
  createdBy: { type: 'string', description: 'who created it: via:name, as in the audit log' },
  expiresAt: time,
  openedAt: { ...nullable(time), description: 'when a browser opened (and so bound) it' },
  revokedAt: nullable(time),
  state: { type: 'string', enum: ['unused', 'open', 'expired', 'revoked'] },
};

/** Setup links, OAuth clients and connection state (issue 15; docs/setup.md). */
const SETUP_SCHEMAS: Record<string, Schema> = {
  OAuthClient: obj(oauthClientFields),
  CreatedOAuthClient: obj({
    ...oauthClientFields,
    clientSecret: { type: 'string', description: 'The client secret: in this response only.' },
    tokenEndpoint: str,
    notice: str,
  }),
  SetupLink: obj(setupLinkFields),
  CreatedSetupLink: obj({
    ...setupLinkFields,
    url: { type: 'string', description: 'The link for the customer’s IT admin: in this response only.' },
    notice: str,
  }),
  Connection: obj({
    tenantId: str,
    tenantName: str,
    state: {
      type: 'string',
      enum: ['awaiting_setup', 'connected', 'healthy', 'unhealthy', 'idle', 'disabled'],
    },
    reason: { type: 'string', description: 'why, in words, with what to do about it' },
    since: nullable(time),
    lastRequestAt: nullable(time),
    lastSuccessAt: nullable(time),
    lastRejectedAt: nullable(time),
    rejectedRun: { type: 'integer', description: '401s in a row since the last accepted request' },
    testConnectionAt: nullable(time),
    firstUserAt: nullable(time),
    firstGroupAt: nullable(time),
    lastHour: obj({ requests: int, failures: int }),
  }),
};

const schemas: Record<string, Schema> = {
  Error: obj({ error: str, detail: str }),
  TenantSummary: obj({
    id: str,
    name: str,
    createdAt: time,
    tenantUrl: str,
    users: int,
    groups: int,
    activeTokens: int,
  }),
  IssuedToken: obj({
    tenantId: str,
    name: str,
    tenantUrl: str,
    tokenId: str,
    token: { type: 'string', description: 'The Secret Token: in this response only.' },
    expiresAt: nullable(time),
    notice: str,
  }),
  RotatedToken: obj({
    tenantId: str,
    name: str,
    tenantUrl: str,
    tokenId: str,
    token: str,
    expiresAt: nullable(time),
    notice: str,
    revokedTokenId: nullable(str),
    revokesAt: nullable(time),
  }),
  Token: obj({
    id: str,
    hint: str,
    createdAt: time,
    lastUsedAt: nullable(time),
    expiresAt: nullable(time),
    revokedAt: nullable(time),
    state: { type: 'string', enum: ['active', 'revoked', 'expired'] },
    active: bool,
    label: {
      type: ['string', 'null'],
      description:
        'who holds it when not the customer’s directory (the provisioning engine’s own credential)',
    },
  }),
  AuditEntry: obj({
    seq: int,
    at: time,
    via: { type: 'string', enum: ['cli', 'admin-api', 'console', 'server', 'setup-link'] },
    actor: str,
    action: str,
    tenantId: {
      type: 'string',
      description:
        'empty for a deployment-level action (accounts, engine, webhooks and API keys of every tenant)',
    },
    tenantName: str,
    target: str,
    detail: str,
  }),
  ListResponse: {
    type: 'object',
    description: 'A SCIM ListResponse (RFC 7644 §3.4.2); resources as the identity provider sees them.',
    properties: {
      schemas: arr(str),
      totalResults: int,
      itemsPerPage: int,
      startIndex: int,
      Resources: arr({ type: 'object' }),
    },
    required: ['schemas', 'totalResults', 'itemsPerPage', 'Resources'],
  },
  ActivityEntry: {
    type: 'object',
    description:
      'One SCIM request the tenant received: every write and every failure (never a successful read). Whom it was about, what it sent (never a secret value), why it failed.',
    properties: {
      seq: int,
      at: time,
      method: str,
      path: str,
      status: int,
      resourceType: { type: 'string', enum: ['User', 'Group'] },
      resourceId: str,
      summary: str,
      durationMs: int,
      operation: {
        type: 'string',
        enum: ['create', 'replace', 'patch', 'delete', 'get', 'list', 'search', 'discovery', 'other'],
      },
      target: obj({ userName: str, externalId: str, displayName: str }, [
        'userName',
        'externalId',
        'displayName',
      ]),
      changes: arr(obj({ op: str, path: str, value: str }, ['op', 'value'])),
      errorAttribute: str,
      scimType: str,
      errorDetail: str,
      patchDialect: {
        type: 'string',
        enum: ['legacy', 'compliant'],
        description:
          'Entra’s default PATCH dialect (capitalised ops, "True"/"False") or the compliant one (aadOptscim062020, RFC 7644)',
      },
      clientIp: str,
      userAgent: str,
    },
    required: ['seq', 'at', 'method', 'path', 'status', 'summary'],
    additionalProperties: false,
  },
  CheckResult: {
    type: 'object',
    properties: {
      id: str,
      group: str,
      title: str,
      status: { enum: ['pass', 'fail', 'skip'] },
      explanation: str,
    },
    required: ['id', 'group', 'title', 'status', 'explanation'],
  },
  DirectoryEvent: {
    type: 'object',
    description:
      'A directory event as the Events API returns it (docs/events.md), with its position `seq` in this store.',
    properties: {
      seq: int,
      id: str,
      type: str,
      tenant: str,
      occurredAt: time,
      resource: obj({ type: { type: 'string', enum: ['User', 'Group', 'Tenant'] }, id: str, sequence: int }),
      data: { type: 'object' },
      previous: { type: 'object' },
      member: obj({ value: str, type: str }, ['type']),
    },
    required: ['seq', 'id', 'type', 'tenant', 'occurredAt', 'resource', 'data'],
    additionalProperties: false,
  },
  Health: obj({
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    store: obj({ dialect: str, describe: str, ok: bool, error: str }, ['error']),
    uptimeSeconds: int,
    node: str,
    instances: arr(
      obj({
        id: str,
        host: str,
        pid: int,
        version: str,
        node: str,
        startedAt: time,
        lastSeenAt: time,
        alive: bool,
        self: { type: 'boolean', description: 'the instance that answered' },
      }),
    ),
    tenants: arr(
      obj({
        id: str,
        name: str,
        users: int,
        groups: int,
        lastContactAt: nullable(time),
        level: { type: 'string', enum: ['ok', 'warn', 'bad'] },
        signal: { type: 'string', description: 'the most severe signal, in words' },
      }),
    ),
  }),
  TenantHealth: obj({
    tenantId: str,
    window: { type: 'string', enum: ['1h', '6h', '24h', '7d'] },
    bucketMinutes: int,
    series: arr(
      obj({
        t: time,
        requests: int,
        errors: int,
        unauthorized: int,
        throttled: int,
        serverErrors: int,
        perMinute: { type: 'number' },
        errorRate: nullable({ type: 'number' }),
      }),
    ),
    totals: obj({
      requests: int,
      errors: int,
      unauthorized: int,
      throttled: int,
      serverErrors: int,
      writes: int,
      writeErrors: int,
    }),
    lastContactAt: nullable(time),
    connectedAt: nullable(time),
    credentialsRejectedAt: nullable(time),
    unauthorizedStreak: nullable({ ...obj({ requests: int, since: time }), type: 'object' }),
    level: { type: 'string', enum: ['ok', 'warn', 'bad'] },
    signals: arr(obj({ level: { type: 'string', enum: ['ok', 'warn', 'bad'] }, code: str, text: str })),
  }),
  Session: obj({
    operator: obj({ id: str, name: str, role: { type: 'string', enum: ['viewer', 'operator', 'admin'] } }),
    csrfToken: {
      type: 'string',
      description: 'Send it as X-CSRF-Token with every request that changes something.',
    },
    expiresAt: time,
    idleExpiresAt: time,
  }),
  Operator: obj({
    id: str,
    name: str,
    role: { type: 'string', enum: ['viewer', 'operator', 'admin'] },
    state: { type: 'string', enum: ['active', 'waiting', 'disabled', 'locked'] },
    createdAt: time,
    passwordChangedAt: time,
    disabledAt: nullable(time),
    failedAttempts: int,
    lockedUntil: nullable(time),
    lastSignInAt: nullable(time),
  }),
  OperatorWithPassword: obj(
    {
      operator: ref('Operator'),
      password: { type: 'string', description: 'A generated password: in this response only.' },
      notice: str,
    },
    ['password', 'notice'],
  ),
  Job: obj({
    name: str,
    state: {
      type: 'string',
      enum: ['notConfigured', 'notRun', 'active', 'paused', 'quarantined', 'disabled'],
    },
    forceDeletes: bool,
    pausedReason: nullable(str),
    disabledReason: nullable(str),
    quarantine: nullable({
      type: 'object',
      description: 'Graph quarantine: reason, error, seriesBegan, currentBegan, nextAttempt, seriesCount',
    }),
    lastExecution: nullable(time),
    lastSuccessfulExecution: nullable(time),
    steadyStateFirstAchievedTime: nullable(time),
    steadyStateLastAchievedTime: nullable(time),
    countSuccessiveCompleteFailures: int,
    runRequested: bool,
    current: nullableRef('Cycle'),
    last: nullableRef('Cycle'),
    linked: obj({ users: int, groups: int }),
    escrows: int,
    updatedAt: nullable(time),
    nextCycle: nullable(
      obj({
        at: nullable(time),
        note: { type: 'string', description: 'in words: "in 39 min", "none while paused …"' },
      }),
    ),
    notice: { type: ['string', 'null'], description: 'why the last cycle had nothing in scope' },
    runningOn: nullable(obj({ instance: str, heartbeatAt: time, expiresAt: time })),
    stored: nullable(
      obj({
        enabled: bool,
        revision: int,
        target: { type: 'string', description: '"tenant <name>" or the Tenant URL' },
        source: str,
        problem: { type: ['string', 'null'], description: 'why the stored definition cannot run here' },
      }),
    ),
    onDemand: {
      type: 'boolean',
      description:
        'stored in this deployment, or its file is in SYNC_JOB_FILES: it can be provisioned on demand',
    },
  }),
  JobDefinition: obj({
    name: str,
    enabled: bool,
    revision: int,
    createdAt: time,
    updatedAt: time,
    definition: {
      type: 'object',
      description:
        'The job as stored (docs/engine.md "Job file"): secrets only as JOYN_SYNC_… variable names or sealed as {"encrypted": "v1.…"}',
    },
  }),
  JobStatus: {
    type: 'object',
    description:
      'As `joyn-scim sync status --json`: state, progress in named units, next cycle, steady state, lease holder',
    properties: { job: str, state: str },
    required: ['job', 'state', 'linked', 'escrows', 'steadyState'],
  },
  Cycle: obj({
    id: str,
    kind: { type: 'string', enum: ['initial', 'incremental'] },
    state: { type: 'string', enum: ['running', 'succeeded', 'entryLevelErrors', 'failed', 'staged'] },
    startedAt: time,
    endedAt: nullable(time),
    totalUnits: int,
    completedUnits: int,
    stats: { type: 'object', additionalProperties: { type: 'integer' } },
    error: nullable(str),
    instance: { type: ['string', 'null'], description: 'the server instance or CLI process that ran it' },
    notice: { type: ['string', 'null'], description: 'why it had nothing in scope' },
  }),
  ProvisioningLog: {
    type: 'object',
    description: 'One object in one cycle, shaped after Graph’s provisioningObjectSummary (docs/engine.md).',
    properties: {
      jobId: str,
      cycleId: str,
      changeId: str,
      activityDateTime: time,
      action: str,
      status: str,
      errorCode: str,
      reason: str,
      recommendedAction: str,
      steps: arr({ type: 'object' }),
      modifiedProperties: arr(obj({ displayName: str, oldValue: nullable(str), newValue: nullable(str) })),
      sourceIdentity: { type: 'object' },
      targetIdentity: { type: 'object' },
      durationMs: { type: 'number' },
    },
    required: [
      'jobId',
      'cycleId',
      'changeId',
      'activityDateTime',
      'action',
      'status',
      'steps',
      'modifiedProperties',
      'sourceIdentity',
      'durationMs',
    ],
  },
  Webhook: {
    type: 'object',
    description: 'A webhook endpoint (docs/events.md "Webhooks"); `secret` only when created or rotated',
    properties: { id: str, url: str, enabled: bool },
    required: ['id', 'url', 'enabled'],
  },
  ApiKey: obj({
    id: str,
    tenantId: nullable(str),
    name: str,
    hint: str,
    scopes: arr(str),
    createdAt: time,
    lastUsedAt: nullable(time),
    revokedAt: nullable(time),
  }),
  IssuedApiKey: obj({
    id: str,
    tenantId: nullable(str),
    name: str,
    hint: str,
    scopes: arr(str),
    createdAt: time,
    lastUsedAt: nullable(time),
    revokedAt: nullable(time),
    key: { type: 'string', description: 'The API key: in this response only.' },
  }),
  ...WEBHOOK_SCHEMAS,
  ...SETUP_SCHEMAS,
};

const endpointBody = {
  url: str,
  types: { ...arr(str), description: 'event types (empty or omitted: every type)' },
  tenant: { ...nullable(str), description: 'a tenant id or name; omitted or null: every tenant' },
  description: str,
  enabled: bool,
};

/** Every admin API operation, by path (relative to /admin/api) and method. */
export const OPERATIONS: Record<string, Record<string, Op>> = {
  '/openapi.json': {
    get: { role: 'viewer', tag: 'API', summary: 'This document', ok: { 200: { type: 'object' } } },
  },
  '/session': {
    post: {
      role: 'anonymous',
      tag: 'Session',
      summary: 'Sign in to the console',
      description:
        'Sets the session cookie (HttpOnly, SameSite=Strict; Secure and `__Host-` on HTTPS). Refused with 401 for a wrong name or password, with 429 and Retry-After while the account waits after failed sign-ins or the address tries too often.',
      body: obj({ name: str, password: str }),
      ok: { 201: ref('Session') },
      errors: [400, 401, 403, 429],
    },
    get: {
      role: 'viewer',
      tag: 'Session',
      summary: 'The current session and its CSRF token',
      ok: { 200: ref('Session') },
      errors: [404],
    },
    delete: {
      role: 'viewer',
      tag: 'Session',
      summary: 'Sign out (this session)',
      ok: { 204: null },
      errors: [404],
    },
  },
  '/session/sign-out-everywhere': {
    post: {
      role: 'viewer',
      tag: 'Session',
      summary: 'End every session of the signed-in operator',
      ok: { 200: obj({ ended: int }) },
      errors: [404],
    },
  },
  '/session/password': {
    post: {
      role: 'viewer',
      tag: 'Session',
      summary: 'Change your own password (other sessions end)',
      body: obj({ currentPassword: str, newPassword: str }),
      ok: { 204: null },
      errors: [400, 404],
    },
  },
  '/operators': {
    get: {
      role: 'admin',
      tag: 'Operators',
      summary: 'Operator accounts',
      ok: { 200: obj({ operators: arr(ref('Operator')) }) },
    },
    post: {
      role: 'admin',
      tag: 'Operators',
      summary: 'Create an operator account',
      description: 'Without `password`, one is generated and returned once.',
      body: obj(
        { name: str, role: { type: 'string', enum: ['viewer', 'operator', 'admin'] }, password: str },
        ['password'],
      ),
      ok: { 201: ref('OperatorWithPassword') },
      errors: [400, 409],
    },
  },
  '/operators/{id}': {
    get: {
      role: 'admin',
      tag: 'Operators',
      summary: 'One account (name or id) with its sessions',
      ok: {
        200: obj({
          operator: ref('Operator'),
          sessions: arr(
            obj({
              createdAt: time,
              lastSeenAt: time,
              expiresAt: time,
              clientIp: nullable(str),
              userAgent: nullable(str),
            }),
          ),
        }),
      },
      errors: [404],
    },
    patch: {
      role: 'admin',
      tag: 'Operators',
      summary: 'Change the role or disable / enable (ends the sessions)',
      body: obj({ role: { type: 'string', enum: ['viewer', 'operator', 'admin'] }, disabled: bool }, [
        'role',
        'disabled',
      ]),
      ok: { 200: obj({ operator: ref('Operator') }) },
      errors: [400, 404, 409],
    },
  },
  '/operators/{id}/reset-password': {
    post: {
      role: 'admin',
      tag: 'Operators',
      summary: 'Set a new password (generated unless given), unlock, end every session',
      body: obj({ password: str }, ['password']),
      ok: { 200: ref('OperatorWithPassword') },
      errors: [400, 404],
    },
  },
  '/operators/{id}/sign-out': {
    post: {
      role: 'admin',
      tag: 'Operators',
      summary: 'End every session of an operator',
      ok: { 200: obj({ ended: int }) },
      errors: [404],
    },
  },
  '/tenants': {
    get: {
      role: 'viewer',
      tag: 'Tenants',
      summary: 'Every tenant with its counts',
      ok: { 200: obj({ tenants: arr(ref('TenantSummary')) }) },
    },
    post: {
      role: 'admin',
      tag: 'Tenants',
      summary: 'Create a tenant and its first Secret Token (shown once)',
      body: obj({ name: str, expiresIn: { type: 'string', description: 'token lifetime, e.g. 90d' } }, [
        'expiresIn',
      ]),
      ok: { 201: ref('IssuedToken') },
      errors: [400, 409],
    },
  },
  '/tenants/{id}': {
    get: {
      role: 'viewer',
      tag: 'Tenants',
      summary: 'One tenant (id or name)',
      ok: { 200: ref('TenantSummary') },
      errors: [404],
    },
    delete: {
      role: 'admin',
      tag: 'Tenants',
      summary: 'Delete a tenant and all its data',
      ok: { 204: null },
      errors: [404],
    },
  },
  '/tenants/{id}/tokens': {
    get: {
      role: 'viewer',
      tag: 'Tokens',
      summary: 'The tenant’s Secret Tokens (never a secret)',
      ok: { 200: obj({ tokens: arr(ref('Token')) }) },
      errors: [404],
    },
    post: {
      role: 'operator',
      tag: 'Tokens',
      summary: 'Issue a Secret Token (shown once)',
      body: obj({ expiresIn: str }, ['expiresIn']),
      ok: { 201: ref('IssuedToken') },
      errors: [400, 404],
    },
  },
  '/tenants/{id}/tokens/rotate': {
    post: {
      role: 'operator',
      tag: 'Tokens',
      summary: 'Issue a new token and revoke one, at once or after an overlap',
      body: obj({ revokeTokenId: str, overlap: str, expiresIn: str }, [
        'revokeTokenId',
        'overlap',
        'expiresIn',
      ]),
      ok: { 201: ref('RotatedToken') },
      errors: [400, 404, 409],
    },
  },
  '/tenants/{id}/tokens/{tokenId}': {
    delete: {
      role: 'operator',
      tag: 'Tokens',
      summary: 'Revoke a token at once',
      ok: { 204: null },
      errors: [404, 409],
    },
  },
  '/tenants/{id}/users': {
    get: {
      role: 'viewer',
      tag: 'Directory',
      summary: 'Users, searched with a SCIM filter',
      query: paging,
      ok: { 200: ref('ListResponse') },
      errors: [400, 404],
    },
  },
  '/tenants/{id}/groups': {
    get: {
      role: 'viewer',
      tag: 'Directory',
      summary: 'Groups (with memberCount instead of members)',
      query: paging,
      ok: { 200: ref('ListResponse') },
      errors: [400, 404],
    },
  },
  '/tenants/{id}/users/{userId}': {
    get: {
      role: 'viewer',
      tag: 'Directory',
      summary: 'One user as the identity provider sees it (its groups included)',
      ok: {
        200: obj({
          resource: { type: 'object', description: 'The SCIM User, rendered as GET /Users/{id} renders it' },
        }),
      },
      errors: [404],
    },
  },
  '/tenants/{id}/groups/{groupId}': {
    get: {
      role: 'viewer',
      tag: 'Directory',
      summary:
        'One group as the identity provider sees it, without its members (see …/members), and their number',
      ok: { 200: obj({ resource: { type: 'object' }, memberCount: int }) },
      errors: [404],
    },
  },
  '/tenants/{id}/groups/{groupId}/members': {
    get: {
      role: 'viewer',
      tag: 'Directory',
      summary: 'A group’s members, a page at a time, with their names as stored now',
      query: {
        startIndex: { type: 'integer', minimum: 1 },
        count: { type: 'integer', minimum: 0, maximum: 200 },
      },
      ok: {
        200: obj({
          totalResults: int,
          startIndex: int,
          itemsPerPage: int,
          members: arr(
            obj({
              value: str,
              type: nullable({ type: 'string', enum: ['User', 'Group'] }),
              display: nullable(str),
              userName: nullable(str),
              displayName: nullable(str),
              active: nullable(bool),
              exists: bool,
            }),
          ),
        }),
      },
      errors: [400, 404],
    },
  },
  '/tenants/{id}/events': {
    get: {
      role: 'viewer',
      tag: 'Events',
      summary: 'The tenant’s directory events (or one resource’s), newest first',
      query: {
        type: {
          type: 'string',
          description: 'comma-separated event types, e.g. user.created,user.deactivated',
        },
        resourceId: str,
        limit: { type: 'integer', minimum: 1, maximum: 200 },
        before: int,
      },
      ok: { 200: obj({ events: arr(ref('DirectoryEvent')), nextBefore: nullable(int) }) },
      errors: [400, 404],
    },
  },
  '/tenants/{id}/activity': {
    get: {
      role: 'viewer',
      tag: 'Activity',
      summary: 'The tenant’s provisioning activity, newest first',
      query: {
        limit: { type: 'integer', minimum: 1, maximum: 500 },
        before: { type: 'integer', description: 'nextBefore of the previous page' },
      },
      ok: { 200: obj({ entries: arr(ref('ActivityEntry')), nextBefore: nullable(int) }) },
      errors: [400, 404],
    },
  },
  '/tenants/{id}/activity/stream': {
    get: {
      role: 'viewer',
      tag: 'Activity',
      summary: 'New activity entries as they happen (server-sent events)',
      description:
        'Each entry is an `activity` event whose `id` is its seq and whose data is an ActivityEntry. Starts after `Last-Event-ID` (or `after`), otherwise with what comes next. Same filters as the list.',
      query: { ...activityFilters, after: int },
      ok: { 200: { stream: 'text/event-stream of `activity` events' } },
      errors: [400, 404, 503],
    },
  },
  '/tenants/{id}/test-connection': {
    post: {
      role: 'operator',
      tag: 'Tenants',
      summary: 'Entra’s Test Connection against the Tenant URL with a pasted token',
      body: obj({ token: str }),
      ok: { 200: obj({ tenantUrl: str, ok: bool, message: str, results: arr(ref('CheckResult')) }) },
      errors: [400, 404],
    },
  },
  '/audit': {
    get: {
      role: 'viewer',
      tag: 'Audit',
      summary: 'The audit log of operator actions, newest first',
      query: {
        tenant: { type: 'string', description: 'tenant id or name (also a deleted one)' },
        limit: { type: 'integer', minimum: 1, maximum: 500 },
        before: int,
      },
      ok: { 200: obj({ entries: arr(ref('AuditEntry')), nextBefore: nullable(int) }) },
      errors: [400],
    },
  },
  '/health': {
    get: {
      role: 'viewer',
      tag: 'Health',
      summary: 'Store status, instances seen, and each tenant’s counts, last contact and state',
      ok: { 200: ref('Health'), 503: ref('Health') },
    },
  },
  '/tenants/{id}/health': {
    get: {
      role: 'viewer',
      tag: 'Health',
      summary:
        'Requests per minute and error rate over time, last contact, and the signals that quarantine an Entra job',
      query: { window: { type: 'string', enum: ['1h', '6h', '24h', '7d'] } },
      ok: { 200: ref('TenantHealth') },
      errors: [400, 404],
    },
  },
  '/engine': {
    get: {
      role: 'viewer',
      tag: 'Engine',
      summary:
        'The engine inside this deployment: this instance, its scheduler, and who holds each job’s lease',
      ok: {
        200: obj({
          instance: str,
          scheduler: obj({
            enabled: bool,
            runningHere: arr(str),
            maxConcurrentCycles: int,
            pollMs: int,
            leaseSeconds: { type: 'number' },
          }),
          leases: arr(obj({ job: str, instance: str, heartbeatAt: time, expiresAt: time, live: bool })),
          secretKeyConfigured: bool,
        }),
      },
    },
  },
  '/engine/jobs': {
    get: {
      role: 'viewer',
      tag: 'Engine',
      summary: 'Provisioning jobs: state, progress, last cycle, next cycle, linked objects, escrows',
      description:
        'Jobs stored in this deployment (run by the servers’ scheduler), jobs whose state is in this database (run by `joyn-scim sync run --config`), and jobs of the SYNC_JOB_FILES.',
      ok: { 200: obj({ jobFileProblems: arr(obj({ file: str, error: str })), jobs: arr(ref('Job')) }) },
    },
    post: {
      role: 'admin',
      tag: 'Engine',
      summary: 'Store a job (a job file as JSON); every server’s scheduler runs it on its interval',
      description:
        'Secrets are named (`target.tokenEnv: JOYN_SYNC_…`) or given in clear and stored encrypted with ENGINE_SECRET_KEY (refused without it). `target.tenant` names a tenant of this deployment.',
      body: { type: 'object', description: 'a job definition (docs/engine.md "Job file")' },
      ok: { 201: ref('JobDefinition') },
      errors: [400, 409],
    },
  },
  '/engine/jobs/{name}': {
    get: {
      role: 'viewer',
      tag: 'Engine',
      summary: 'One job with its stored definition (if stored) and its last ten cycles',
      ok: {
        200: obj({ job: ref('Job'), definition: nullableRef('JobDefinition'), cycles: arr(ref('Cycle')) }),
      },
      errors: [404],
    },
    put: {
      role: 'admin',
      tag: 'Engine',
      summary:
        'Replace a stored job’s definition (a change of mappings, scoping or scope makes the next cycle initial)',
      body: { type: 'object', description: 'a job definition; its name cannot change' },
      ok: { 200: ref('JobDefinition') },
      errors: [400, 404],
    },
    patch: {
      role: 'admin',
      tag: 'Engine',
      summary: 'Enable or disable a stored job on every instance (its state is kept)',
      body: obj({ enabled: bool }),
      ok: { 200: ref('JobDefinition') },
      errors: [400, 404],
    },
    delete: {
      role: 'admin',
      tag: 'Engine',
      summary: 'Delete a stored job and its state (links, escrows, cycles, logs); refused while a cycle runs',
      ok: { 204: null },
      errors: [404, 409],
    },
  },
  '/engine/jobs/{name}/status': {
    get: {
      role: 'viewer',
      tag: 'Engine',
      summary: 'The job’s status as `joyn-scim sync status --json` shows it',
      ok: { 200: ref('JobStatus') },
      errors: [404],
    },
  },
  '/engine/jobs/{name}/cycles': {
    get: {
      role: 'viewer',
      tag: 'Engine',
      summary: 'The job’s cycles, newest first',
      query: { limit: { type: 'integer', minimum: 1, maximum: 500 } },
      ok: { 200: obj({ cycles: arr(ref('Cycle')) }) },
      errors: [400, 404],
    },
  },
  '/engine/jobs/{name}/logs': {
    get: {
      role: 'viewer',
      tag: 'Engine',
      summary: 'Provisioning logs, newest first (one record per object per cycle)',
      query: {
        status: { type: 'string', enum: ['success', 'failure', 'skipped', 'warning'] },
        action: { type: 'string', enum: ['create', 'update', 'disable', 'delete', 'stagedDelete', 'other'] },
        cycle: str,
        search: { type: 'string', description: 'in the source or target id or display name' },
        since: { type: 'string', format: 'date-time' },
        before: { type: 'string', description: 'nextBefore of the previous page' },
        limit: { type: 'integer', minimum: 1, maximum: 500 },
      },
      ok: { 200: obj({ logs: arr(ref('ProvisioningLog')), nextBefore: nullable(str) }) },
      errors: [400, 404],
    },
  },
  '/engine/jobs/{name}/pause': {
    post: {
      role: 'operator',
      tag: 'Engine',
      summary: 'Stop: the running cycle finishes, no other starts',
      ok: { 200: obj({ job: ref('Job') }) },
      errors: [404],
    },
  },
  '/engine/jobs/{name}/resume': {
    post: {
      role: 'operator',
      tag: 'Engine',
      summary: 'Start again (also clears quarantine)',
      ok: { 200: obj({ job: ref('Job') }) },
      errors: [404],
    },
  },
  '/engine/jobs/{name}/run': {
    post: {
      role: 'operator',
      tag: 'Engine',
      summary: 'Run now: the next cycle starts at once instead of at the end of the interval',
      ok: { 200: obj({ job: ref('Job') }) },
      errors: [404, 409],
    },
  },
  '/engine/jobs/{name}/restart': {
    post: {
      role: 'operator',
      tag: 'Engine',
      summary: 'Restart: clear watermark, escrows and quarantine (reset full: also break the links)',
      body: obj({ reset: { type: 'string', enum: ['default', 'full'] } }, ['reset']),
      ok: { 200: obj({ job: ref('Job') }) },
      errors: [400, 404],
    },
  },
  '/engine/jobs/{name}/allow-deletes': {
    post: {
      role: 'operator',
      tag: 'Engine',
      summary: 'Let the held-back deletes run in the next cycle (accidental-deletion threshold)',
      ok: { 200: obj({ job: ref('Job') }) },
      errors: [404],
    },
  },
  '/engine/jobs/{name}/provision': {
    post: {
      role: 'operator',
      tag: 'Engine',
      summary: 'Provision one user on demand (Entra’s five steps)',
      description:
        'A stored job runs with its own target and secrets; a job of SYNC_JOB_FILES with the token its file names unless one is pasted.',
      body: obj(
        {
          user: { type: 'string', description: 'source id, userPrincipalName, mail or mailNickname' },
          token: str,
        },
        ['token'],
      ),
      ok: {
        200: obj({
          connection: obj({ ok: bool, message: str }),
          log: nullableRef('ProvisioningLog'),
          report: str,
        }),
      },
      errors: [400, 409, 503],
    },
  },
  '/api-keys': {
    get: {
      role: 'admin',
      tag: 'API keys',
      summary: 'Application API keys (never the secret)',
      query: { tenant: str },
      ok: { 200: arr(ref('ApiKey')) },
    },
    post: {
      role: 'admin',
      tag: 'API keys',
      summary: 'Create an application API key (shown once)',
      body: obj({ name: str, tenant: str, scopes: arr(str) }, ['tenant', 'scopes']),
      ok: { 201: ref('IssuedApiKey') },
      errors: [400, 404],
    },
  },
  '/api-keys/{id}': {
    delete: {
      role: 'admin',
      tag: 'API keys',
      summary: 'Revoke an application API key',
      ok: { 204: null },
      errors: [404, 409],
    },
  },
  '/webhooks': {
    get: {
      role: 'viewer',
      tag: 'Webhooks',
      summary: 'Webhook endpoints (never a secret)',
      query: { tenant: { type: 'string', description: 'only the endpoints of this tenant (id or name)' } },
      ok: { 200: obj({ webhooks: arr(ref('WebhookEndpoint')) }) },
      errors: [404],
    },
    post: {
      role: 'admin',
      tag: 'Webhooks',
      summary: 'Add an endpoint; its signing secret is in this answer only',
      body: obj(endpointBody, ['types', 'tenant', 'description', 'enabled']),
      ok: { 201: ref('CreatedWebhookEndpoint') },
      errors: [400, 404],
    },
  },
  '/webhooks/{id}': {
    get: {
      role: 'viewer',
      tag: 'Webhooks',
      summary: 'One endpoint and its state',
      ok: { 200: ref('WebhookEndpoint') },
      errors: [404],
    },
    patch: {
      role: 'admin',
      tag: 'Webhooks',
      summary: 'Change the URL, types, tenant or description; enable or disable',
      body: obj(endpointBody, ['url', 'types', 'tenant', 'description', 'enabled']),
      ok: { 200: ref('WebhookEndpoint') },
      errors: [400, 404],
    },
    delete: {
      role: 'admin',
      tag: 'Webhooks',
      summary: 'Delete an endpoint with its deliveries and their log',
      ok: { 204: null },
      errors: [404],
    },
  },
  '/webhooks/{id}/enable': {
    post: {
      role: 'admin',
      tag: 'Webhooks',
      summary: 'Enable: its pending deliveries resume, oldest of each resource first',
      ok: { 200: ref('WebhookEndpoint') },
      errors: [404],
    },
  },
  '/webhooks/{id}/disable': {
    post: {
      role: 'admin',
      tag: 'Webhooks',
      summary: 'Disable: nothing is sent and no new event is queued until it is enabled',
      ok: { 200: ref('WebhookEndpoint') },
      errors: [404],
    },
  },
  '/webhooks/{id}/rotate-secret': {
    post: {
      role: 'admin',
      tag: 'Webhooks',
      summary: 'A new signing secret (in this answer only); the previous one signs too during the overlap',
      body: obj(
        { overlap: { type: 'string', description: 'e.g. 24h (default WEBHOOKS_OVERLAP_HOURS); 0: at once' } },
        ['overlap'],
      ),
      ok: { 200: ref('CreatedWebhookEndpoint') },
      errors: [400, 404, 409],
    },
  },
  '/webhooks/{id}/deliveries': {
    get: {
      role: 'viewer',
      tag: 'Webhooks',
      summary: 'Recent deliveries of an endpoint, newest first, with their attempts on request',
      query: {
        state: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
        event: { type: 'string', description: 'one event id' },
        limit: { type: 'integer', minimum: 1, maximum: 100 },
        before: { type: 'integer', description: 'the id of the last delivery of the previous page' },
        attempts: {
          type: 'string',
          enum: ['true', 'false'],
          description: 'include each delivery’s attempts',
        },
      },
      ok: { 200: obj({ deliveries: arr(ref('WebhookDelivery')) }) },
      errors: [400, 404],
    },
  },
  '/webhooks/{id}/deliveries/{deliveryId}': {
    get: {
      role: 'viewer',
      tag: 'Webhooks',
      summary: 'One delivery with its payload and every attempt',
      ok: { 200: ref('WebhookDeliveryDetail') },
      errors: [404],
    },
  },
  '/webhooks/{id}/redeliver': {
    post: {
      role: 'operator',
      tag: 'Webhooks',
      summary: 'Queue one event again, or every event of a time range this endpoint would receive',
      body: obj({ eventId: str, since: time, until: time }, ['eventId', 'since', 'until']),
      ok: { 202: obj({ queued: int, eventIds: arr(str) }) },
      errors: [400, 404, 409],
    },
  },
  '/webhooks/{id}/ping': {
    post: {
      role: 'operator',
      tag: 'Webhooks',
      summary:
        'Send a signed webhook.ping now and return the attempt (status, duration, first bytes of the answer)',
      ok: { 200: ref('WebhookPing') },
      errors: [404],
    },
  },
  '/tenants/{id}/setup-links': {
    get: {
      role: 'viewer',
      tag: 'Setup',
      summary: 'The tenant’s setup links (never the link itself)',
      ok: { 200: obj({ links: arr(ref('SetupLink')) }) },
      errors: [404],
    },
    post: {
      role: 'operator',
      tag: 'Setup',
      summary: 'A setup link for the customer’s IT admin (in this answer only; works in one browser)',
      body: obj({ expiresIn: { type: 'string', description: 'e.g. 24h, 3d (at most 7 days)' } }, [
        'expiresIn',
      ]),
      ok: { 201: ref('CreatedSetupLink') },
      errors: [400, 404],
    },
  },
  '/tenants/{id}/setup-links/{linkId}': {
    delete: {
      role: 'operator',
      tag: 'Setup',
      summary: 'Revoke a setup link (its page stops working at once)',
      ok: { 204: null },
      errors: [404, 409],
    },
  },
  '/tenants/{id}/oauth-clients': {
    get: {
      role: 'viewer',
      tag: 'Setup',
      summary: 'The tenant’s OAuth clients (never a secret) and the token endpoint',
      ok: { 200: obj({ tokenEndpoint: str, clients: arr(ref('OAuthClient')) }) },
      errors: [404],
    },
    post: {
      role: 'operator',
      tag: 'Setup',
      summary: 'OAuth 2.0 client credentials for the tenant (the secret in this answer only)',
      body: obj({ name: str }, ['name']),
      ok: { 201: ref('CreatedOAuthClient') },
      errors: [400, 404],
    },
  },
  '/tenants/{id}/oauth-clients/{clientId}': {
    delete: {
      role: 'operator',
      tag: 'Setup',
      summary: 'Revoke an OAuth client and every access token it obtained',
      ok: { 204: null },
      errors: [404, 409],
    },
  },
  '/tenants/{id}/connection': {
    get: {
      role: 'viewer',
      tag: 'Setup',
      summary: 'The tenant’s connection state with its reason (docs/setup.md)',
      ok: { 200: ref('Connection') },
      errors: [404],
    },
  },
  '/connections': {
    get: {
      role: 'viewer',
      tag: 'Setup',
      summary: 'Every tenant’s connection state',
      ok: { 200: obj({ connections: arr(ref('Connection')) }) },
    },
  },
};

const errorResponse = (description: string): Schema => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});

export function openApiDocument(): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const [path, ops] of Object.entries(OPERATIONS)) {
    paths[path] = {};
    for (const [method, o] of Object.entries(ops)) paths[path]![method] = operation(path, o);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'joyn-scim admin API',
      version: '1',
      description:
        'The operator API behind the console at /admin (docs/console.md). Every request comes from a signed-in operator (the session cookie, plus the X-CSRF-Token header on every request that changes something) or carries `Authorization: Bearer <ADMIN_TOKEN>`, which acts as an admin. Errors are `{"error", "detail"}`.',
    },
    servers: [{ url: '/admin/api' }],
    security: [{ session: [] }, { adminToken: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'joyn_console',
          description: '`__Host-joyn_console` on HTTPS',
        },
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
      },
      responses: {
        E400: errorResponse('Bad input: `detail` says what to fix.'),
        E401: errorResponse(
          'Not signed in, the session ended, or a wrong ADMIN_TOKEN (a SCIM Secret Token is refused too).',
        ),
        E403: errorResponse(
          'The role is too low, or a change came without the CSRF token / from another origin.',
        ),
        E404: errorResponse('No such tenant, token, operator or resource.'),
        E409: errorResponse('A conflict: the name is taken, or the token was already revoked.'),
        E429: errorResponse('Too many tries: wait Retry-After seconds.'),
        E503: errorResponse(
          'The server is busy (too many open streams) or the store is down: retry after Retry-After.',
        ),
      },
    },
  };
}
