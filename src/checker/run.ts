/**
 * runChecks: the whole catalogue against one tenant, with the safety rules of issue 5:
 * a unique prefix on everything created, no writes to a tenant that already has users unless
 * allowed, and cleanup of every created resource at the end — also after failures and aborts.
 */
import { connectionChecks } from './connection.js';
import { CheckContext, expectList, isObject, type CheckDef, type Created } from './context.js';
import { discoveryChecks } from './checks-discovery.js';
import { groupChecks } from './checks-groups.js';
import { protocolChecks } from './checks-protocol.js';
import { userChecks } from './checks-users.js';
import { ScimClient, TransportError, queryParam } from './http.js';
import { runOne } from './runner.js';
import { CHECK_GROUPS, type CheckReport, type CheckResult, type RunChecksOptions } from './types.js';

/** Every check, in the order it runs. Later checks use resources created by earlier ones. */
export function allChecks(): CheckDef[] {
  return [...connectionChecks, ...discoveryChecks, ...userChecks(), ...groupChecks(), ...protocolChecks];
}

/** `only` entries are group names, check ids, or id prefixes ("users.legacy"). */
export function selectChecks(all: readonly CheckDef[], only?: readonly string[]): CheckDef[] {
  if (!only || only.length === 0) return [...all];
  const wanted = only.map((s) => s.trim()).filter((s) => s.length > 0);
  const unknown = wanted.filter(
    (w) => !CHECK_GROUPS.includes(w as never) && !all.some((c) => c.id === w || c.id.startsWith(`${w}.`)),
  );
  if (unknown.length > 0)
    throw new Error(`unknown check group or id: ${unknown.join(', ')} (groups: ${CHECK_GROUPS.join(', ')})`);
  return all.filter((c) => wanted.some((w) => c.group === w || c.id === w || c.id.startsWith(`${w}.`)));
}

export function randomPrefix(): string {
  const bytes = new Uint8Array(4);
  globalThis.crypto.getRandomValues(bytes);
  return `jscheck-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}-`;
}

export async function runChecks(opts: RunChecksOptions): Promise<CheckReport> {
  const startedAt = new Date().toISOString();
  const defs = selectChecks(allChecks(), opts.only);
  const prefix = opts.prefix ?? randomPrefix();
  const client = new ScimClient(opts.tenantUrl, opts.token, opts.fetch ?? globalThis.fetch, opts.signal);
  const ctx = new CheckContext(client, prefix, opts.token);
  const results: CheckResult[] = [];
  let writes = { allowed: false, reason: 'no selected check writes' };
  let cleanup: CheckReport['cleanup'] = { prefix, deleted: 0, leftovers: [] };
  const emit = (r: CheckResult): void => {
    results.push(r);
    opts.onResult?.(r);
  };
  try {
    if (defs.some((d) => d.writes) || defs.some((d) => d.id === 'protocol.booleans')) {
      writes = await writeGuard(client, opts, prefix);
      ctx.writesAllowed = writes.allowed;
    }
    for (const def of defs) {
      if (opts.signal?.aborted) break;
      if (def.writes && !writes.allowed) {
        emit({
          id: def.id,
          group: def.group,
          title: def.title,
          status: 'skip',
          explanation: `write check skipped: ${writes.reason}`,
          ...(def.spec ? { spec: def.spec } : {}),
        });
        continue;
      }
      emit(await runOne(def, ctx, opts.signal));
    }
  } finally {
    cleanup = await deleteCreated(ctx, prefix);
  }
  return {
    tenantUrl: client.url(''),
    startedAt,
    finishedAt: new Date().toISOString(),
    results,
    passed: results.filter((r) => r.status === 'pass').length,
    failed: results.filter((r) => r.status === 'fail').length,
    skipped: results.filter((r) => r.status === 'skip').length,
    writes,
    cleanup,
    interrupted: opts.signal?.aborted ?? false,
  };
}

/** Before any write: does the tenant already hold users? (issue 5, "Safety") */
async function writeGuard(
  client: ScimClient,
  opts: RunChecksOptions,
  prefix: string,
): Promise<{ allowed: boolean; reason: string }> {
  if (opts.disposable) return { allowed: true, reason: 'the tenant was declared disposable' };
  let users: number | undefined;
  let problem = '';
  try {
    const reply = await client.send('GET', '/Users', { query: 'count=1' });
    users = expectList(reply, 'GET /Users?count=1').totalResults;
  } catch (e) {
    problem = e instanceof TransportError ? e.message : e instanceof Error ? e.message : String(e);
  }
  if (users === 0) return { allowed: true, reason: 'the tenant has no users' };
  if (opts.allowWrites)
    return {
      allowed: true,
      reason: `writes allowed on a tenant with ${users ?? 'an unknown number of'} user(s): only resources named ${prefix}… are created, and deleted afterwards`,
    };
  if (users === undefined)
    return {
      allowed: false,
      reason: `could not confirm that the tenant is empty (GET /Users?count=1: ${problem}); rerun with --allow-writes or --disposable`,
    };
  return {
    allowed: false,
    reason: `the tenant already has ${users} user(s); rerun with --allow-writes or --disposable to run write checks`,
  };
}

/** Deletes every resource this run created: groups first (they reference users), then users. */
async function deleteCreated(ctx: CheckContext, prefix: string): Promise<CheckReport['cleanup']> {
  const client = ctx.client.withoutSignal();
  client.onExchange = undefined;
  let deleted = 0;
  const leftovers: string[] = [];
  const order: Created[] = [
    ...ctx.created.filter((c) => c.kind === 'Groups'),
    ...ctx.created.filter((c) => c.kind === 'Users'),
  ];
  const seen = new Set<string>();
  for (const item of order) {
    const key = `${item.kind}/${item.id}/${item.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      let id = item.id;
      if (!id) {
        // The create answered 2xx without an id: find it by its (prefixed) name.
        if (!item.name.startsWith(prefix)) continue;
        const attr = item.kind === 'Users' ? 'userName' : 'displayName';
        const q = await client.send('GET', `/${item.kind}`, {
          query: queryParam('filter', `${attr} eq "${item.name}"`),
        });
        const hit =
          isObject(q.json) && Array.isArray(q.json.Resources) ? q.json.Resources.find(isObject) : undefined;
        if (!hit || typeof hit.id !== 'string') continue;
        id = hit.id;
      }
      const reply = await client.send('DELETE', `/${item.kind}/${id}`);
      if ((reply.status >= 200 && reply.status < 300) || reply.status === 404) deleted++;
      else leftovers.push(`${item.kind}/${id} (${item.name}): DELETE answered ${reply.status}`);
    } catch (e) {
      leftovers.push(`${item.kind}/${item.id} (${item.name}): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { prefix, deleted, leftovers };
}
