/**
 * Provision on demand (entra-provisioning-engine.md §12): one user through the same pipeline as a cycle, reported
 * as Entra's five steps: 1 test connection (shown only on failure), 2 import, 3 determine scope, 4 match,
 * 5 perform action.
 */
import { bearerValue, type BearerToken } from './oauth-token.js';
import { randomUUID } from 'node:crypto';
import { testConnection } from '../checker/index.js';
import { ScopeEvaluator } from './entitlement.js';
import type { JobRunner } from './job.js';
import type { ProvisioningLog, ProvisioningStep } from './log-types.js';
import { lookup } from './mapping.js';
import { planObject, processObject } from './process-object.js';
import { linkKey } from './state/store.js';
import type { SourceObject } from './types.js';

export interface OnDemandResult {
  connection: { ok: boolean; message: string };
  log?: ProvisioningLog;
}

function findUser(users: readonly SourceObject[], ref: string): SourceObject | undefined {
  const lower = ref.toLowerCase();
  return (
    users.find((u) => u.id === ref) ??
    users.find((u) =>
      ['userPrincipalName', 'mail', 'mailNickname', 'uid'].some((a) => {
        const v = lookup(u.attributes, a);
        return typeof v === 'string' && v.toLowerCase() === lower;
      }),
    )
  );
}

export async function provisionOnDemand(
  runner: JobRunner,
  ref: string,
  opts: { token: BearerToken; fetch?: typeof fetch },
): Promise<OnDemandResult> {
  const { config, state } = runner.opts;
  const conn = await testConnection(
    config.target.tenantUrl,
    await bearerValue(opts.token),
    opts.fetch ? { fetch: opts.fetch } : {},
  );
  if (!conn.ok) return { connection: { ok: false, message: conn.message } };
  const { snapshot } = await runner.source.readAll();
  const obj = findUser(snapshot.users, ref);
  if (!obj)
    throw new Error(
      `no user '${ref}' in the source (looked at id, userPrincipalName, mail and mailNickname)`,
    );
  const job = config.name;
  await state.ensureJob(job, runner.clock.now());
  const links = await state.loadLinks(job);
  const key = linkKey('user', obj.id);
  const link = links.get(key);
  const ent = new ScopeEvaluator(
    { scope: config.scope, provisionGroups: config.provisionGroups, filters: config.scopingFilters },
    snapshot,
  ).evaluate(obj);
  const input = { kind: 'user' as const, sourceId: obj.id, obj, ent, link };
  let plan = planObject(input, config, runner.users);
  // An object the cycle would silently ignore is still reported on demand.
  if (plan.kind === 'ignore')
    plan = { kind: 'skip', code: 'NotManaged', reason: 'Not provisioned and no longer managed' };
  const ctx = {
    config,
    client: runner.client,
    users: runner.users,
    groups: runner.groups,
    jobId: job,
    cycleId: `ondemand-${randomUUID()}`,
    now: () => runner.clock.now(),
  };
  const r = await processObject(ctx, input, plan);
  if (r.link === null)
    await state.saveLinks(job, [], [{ kind: 'user', sourceId: obj.id }], runner.clock.now());
  else if (r.link) await state.saveLinks(job, [r.link], [], runner.clock.now());
  if (r.log) await state.insertLogs([r.log]);
  return { connection: { ok: true, message: conn.message }, ...(r.log ? { log: r.log } : {}) };
}

function describeSteps(steps: readonly ProvisioningStep[]): string[] {
  return steps.map((s) => {
    const details =
      s.details && Object.keys(s.details).length && s.type !== 'import'
        ? ` (${Object.entries(s.details)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')})`
        : '';
    return `     - ${s.status}: ${s.description}${details}`;
  });
}

/** Entra's on-demand report, as text. */
export function formatOnDemand(r: OnDemandResult): string {
  if (!r.connection.ok) return `1. Test connection: failure\n   ${r.connection.message}`;
  const log = r.log!;
  const of = (...types: ProvisioningStep['type'][]): ProvisioningStep[] =>
    log.steps.filter((s) => types.includes(s.type));
  const status = (steps: ProvisioningStep[]): string =>
    steps.length === 0
      ? 'skipped'
      : steps.some((s) => s.status === 'failure')
        ? 'failure'
        : steps.every((s) => s.status === 'skipped')
          ? 'skipped'
          : 'success';
  const imp = of('import');
  const scope = of('scoping');
  const match = of('matching');
  const act = of('processing', 'referenceResolution', 'export');
  const out = [
    `2. Import user: ${status(imp)}`,
    ...describeSteps(imp),
    `3. Determine if user is in scope: ${status(scope)}`,
    ...describeSteps(scope),
    `4. Match user between source and target system: ${status(match)}`,
    ...describeSteps(match),
    `5. Perform action: ${log.action} — ${log.status}`,
    ...describeSteps(act),
  ];
  if (log.modifiedProperties.length) {
    out.push('   Modified properties:');
    for (const m of log.modifiedProperties)
      out.push(`     ${m.displayName}: ${m.oldValue ?? '(none)'} → ${m.newValue ?? '(none)'}`);
  }
  if (log.errorCode)
    out.push(
      `   Error: ${log.errorCode}: ${log.reason ?? ''}`,
      `   Recommended action: ${log.recommendedAction ?? ''}`,
    );
  // A skip's reason is the step 5 line above: said once; what to do about it follows.
  else if (log.recommendedAction) out.push(`   Recommended action: ${log.recommendedAction}`);
  return out.join('\n');
}
