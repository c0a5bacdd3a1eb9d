/**
 * A small in-memory SCIM target for the engine's unit tests: enough of RFC 7644 to serve what the engine sends
 * (eq filters, POST, GET, PATCH in both Entra dialects, DELETE), records every request, and can be told to fail.
 * The end-to-end tests use the real server (test/helpers/server.ts); this one keeps unit tests fast and lets
 * them inject 401/429/5xx answers the real server never gives.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseTargetPath, readTargetValue, writeTargetValue } from '../../src/engine/target-path.js';
import type { JsonObject, JsonValue } from '../../src/scim/types.js';

export interface RecordedCall {
  method: string;
  path: string;
  query: string;
  body?: JsonObject;
}

type Rt = 'User' | 'Group';

export class FakeTarget {
  readonly users = new Map<string, JsonObject>();
  readonly groups = new Map<string, JsonObject & { members?: { value: string }[] }>();
  readonly calls: RecordedCall[] = [];
  token = 'fake-token';
  /** Answers to give before normal processing: consumed in order. */
  failures: { status: number; headers?: Record<string, string>; match?: (c: RecordedCall) => boolean }[] = [];
  /** Answer every request with this status (e.g. 401 for a revoked token). */
  forceStatus: number | undefined;
  /** A persistent rule: the status to answer a matching call with (undefined = serve normally). */
  failWhen: ((c: RecordedCall) => number | undefined) | undefined;
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/scim/v2`;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }

  reset(): void {
    this.calls.length = 0;
  }

  private send(
    res: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { 'content-type': 'application/scim+json', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? '/', 'http://x');
    const text = Buffer.concat(chunks).toString('utf8');
    const call: RecordedCall = {
      method: req.method ?? 'GET',
      path: u.pathname.replace(/^\/scim\/v2/, ''),
      query: u.search,
      ...(text ? { body: JSON.parse(text) as JsonObject } : {}),
    };
    this.calls.push(call);
    if (this.forceStatus) return this.send(res, this.forceStatus, { detail: 'forced' });
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return this.send(res, 401, { detail: 'bad token' });
    const persistent = this.failWhen?.(call);
    if (persistent) return this.send(res, persistent, { detail: `injected ${persistent}` });
    const fi = this.failures.findIndex((f) => !f.match || f.match(call));
    if (fi >= 0) {
      const f = this.failures.splice(fi, 1)[0]!;
      return this.send(res, f.status, { detail: `injected ${f.status}` }, f.headers);
    }
    const m = /^\/(Users|Groups)(?:\/([^/]+))?$/.exec(call.path);
    if (!m) return this.send(res, 404, { detail: 'no such endpoint' });
    const rt: Rt = m[1] === 'Users' ? 'User' : 'Group';
    const store = rt === 'User' ? this.users : this.groups;
    const id = m[2] ? decodeURIComponent(m[2]) : undefined;
    if (call.method === 'GET' && !id) {
      // One `attr eq "value"` only: like some real targets, no `or` (a batched query gets 400 invalidFilter).
      const f = /^([^\s"]+) eq "((?:[^"\\]|\\.)*)"$/.exec(u.searchParams.get('filter') ?? '');
      if (!f)
        return this.send(res, 400, {
          scimType: 'invalidFilter',
          detail: 'one attr eq "value" filter required',
        });
      const path = parseTargetPath(rt, f[1]!);
      const value = JSON.parse(`"${f[2]}"`) as string;
      const hits = [...store.values()].filter((r) => {
        const v =
          path.text === 'externalId' || path.text === 'userName' || path.text === 'displayName'
            ? r[path.text]
            : readTargetValue(r, path);
        return v !== undefined && String(v).toLowerCase() === value.toLowerCase();
      });
      return this.send(res, 200, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
        totalResults: hits.length,
        Resources: hits.map((h) => this.render(rt, h)),
        startIndex: 1,
        itemsPerPage: hits.length,
      });
    }
    if (call.method === 'POST' && !id) {
      const body = JSON.parse(JSON.stringify(call.body!)) as JsonObject;
      delete body.meta;
      const dup = [...store.values()].find((r) =>
        rt === 'User' ? r.userName === body.userName : r.displayName === body.displayName,
      );
      if (dup) return this.send(res, 409, { scimType: 'uniqueness', detail: 'exists' });
      const nid = randomUUID();
      const stored = { ...body, id: nid } as JsonObject;
      if (rt === 'User' && typeof stored.active === 'string')
        stored.active = stored.active.toLowerCase() === 'true';
      store.set(nid, stored);
      return this.send(res, 201, this.render(rt, stored));
    }
    const cur = id ? store.get(id) : undefined;
    if (!cur) return this.send(res, 404, { detail: 'not found' });
    if (call.method === 'GET')
      return this.send(
        res,
        200,
        this.render(rt, cur, u.searchParams.get('excludedAttributes') === 'members'),
      );
    if (call.method === 'DELETE') {
      store.delete(id!);
      for (const g of this.groups.values())
        if (g.members) g.members = g.members.filter((x) => x.value !== id);
      return this.send(res, 204);
    }
    if (call.method === 'PATCH') {
      for (const op of (call.body!.Operations as JsonObject[]) ?? []) this.applyOp(rt, cur, op);
      return this.send(res, 204);
    }
    return this.send(res, 405, { detail: 'method' });
  }

  private applyOp(rt: Rt, r: JsonObject, op: JsonObject): void {
    const kind = String(op.op).toLowerCase();
    const path = op.path as string | undefined;
    if (rt === 'Group' && path && path.startsWith('members')) {
      const g = r as { members?: { value: string }[] };
      g.members ??= [];
      const fm = /^members\[value eq "(.*)"\]$/.exec(path);
      if (fm) {
        g.members = g.members.filter((x) => x.value !== fm[1]);
        return;
      }
      const vals = (op.value as { value: string }[]).map((v) => v.value);
      if (kind === 'add')
        for (const v of vals) if (!g.members.some((x) => x.value === v)) g.members.push({ value: v });
      if (kind === 'remove') g.members = g.members.filter((x) => !vals.includes(x.value));
      return;
    }
    const entries: [string, JsonValue][] = path
      ? [[path, op.value as JsonValue]]
      : Object.entries(op.value as JsonObject);
    for (const [p, v] of entries) {
      const tp = parseTargetPath(rt, p);
      const val = tp.def.type === 'boolean' && typeof v === 'string' ? v.toLowerCase() === 'true' : v;
      writeTargetValue(r, tp, val);
    }
  }

  private render(rt: Rt, r: JsonObject, excludeMembers = true): JsonObject {
    const out: JsonObject = {
      schemas: [
        rt === 'User'
          ? 'urn:ietf:params:scim:schemas:core:2.0:User'
          : 'urn:ietf:params:scim:schemas:core:2.0:Group',
      ],
      ...r,
    };
    delete out.meta;
    if (rt === 'Group' && excludeMembers) delete out.members;
    return JSON.parse(JSON.stringify(out)) as JsonObject;
  }
}
