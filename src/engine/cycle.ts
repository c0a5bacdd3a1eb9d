/**
 * One provisioning cycle (entra-provisioning-engine.md §1): read the source (everything, or the changes since the
 * watermark), decide scope, plan every object, hold back deletions above the threshold (§11), process users
 * and groups, then memberships, write logs/links/escrows in batches, and judge the escrow thresholds (§9).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { scopeHash, type JobConfig } from './config.js';
import { ScopeEvaluator, type Entitlement } from './entitlement.js';
import { SyncError, toSyncError } from './errors.js';
import type { ProvisioningLog } from './log-types.js';
import { MatchBatcher } from './match-batch.js';
import type { ObjectMapping } from './mapping.js';
import {
  LogBuilder,
  displayNameOf,
  isDeletion,
  planObject,
  processObject,
  type ObjectContext,
  type ObjectResult,
  type Plan,
  type PlanInput,
} from './process-object.js';
import type { ScimClient } from './scim-client.js';
import { mapLimit } from './semaphore.js';
import {
  emptyStats,
  linkKey,
  type CycleRow,
  type CycleStats,
  type EscrowRow,
  type LinkRow,
  type QuarantineInfo,
  type SyncState,
} from './state/store.js';
import type { Source, SourceObject, SourceSnapshot } from './types.js';

/** Escrow thresholds of §9 ("subject to change"): configurable so tests can reach them. */
export interface EscrowThresholds {
  /** Evaluation starts at this many failures (5,000). */
  base: number;
  /** Quarantine above this share of failed provisioning events (0.4). */
  proportion: number;
  /** Quarantine above this many failures (40,000). */
  total: number;
  /** Absolute limit including reference failures (60,000). */
  absolute: number;
}
export const ENTRA_ESCROW_THRESHOLDS: EscrowThresholds = {
  base: 5000,
  proportion: 0.4,
  total: 40_000,
  absolute: 60_000,
};

export interface CycleDeps {
  config: JobConfig;
  state: SyncState;
  client: ScimClient;
  source: Source;
  clock: Clock;
  users: ObjectMapping;
  groups: ObjectMapping;
  thresholds?: EscrowThresholds;
  /**
   * Called as units complete (progress bar, §8); the last call is (total, total). A unit is one object (a user or
   * group to evaluate, including the ones out of scope) or one group's membership update.
   */
  onProgress?: (completed: number, total: number) => void;
  /** Who runs the cycle (recorded on the cycle). */
  instance?: string;
  /** Aborted when the job's lease is lost: the cycle stops sending and does not move the watermark. */
  signal?: AbortSignal;
}

export interface CycleOutcome {
  cycle: CycleRow;
  /** Set when the cycle ran into a job-level failure or threshold (§9, §11). */
  quarantine?: { reason: QuarantineInfo['reason']; error: string; errorCode?: string };
  /** §1.4: escrow threshold hit during the initial cycle → escrows cleared, job to be paused. */
  escrowsPruned: boolean;
  stagedDeletes: number;
  /** Why nothing was in scope, when nothing was (also on the cycle row and in the status). */
  notice?: string;
  /** The cycle stopped because the job's lease was lost (another instance continues the job). */
  aborted?: boolean;
}

/** Backoff of escrowed objects: next cycle first, then doubling, at most a day (§1.4 "gradually scaling back"). */
export function escrowDelayMs(attempts: number, intervalMs: number): number {
  if (attempts <= 1) return 0;
  return Math.min(24 * 3_600_000, intervalMs * 2 ** (attempts - 2));
}

interface Candidate extends PlanInput {
  plan: Plan;
  deletion: boolean;
}

const FLUSH_EVERY = 500;

export async function runCycle(
  deps: CycleDeps,
  opts: { forceDeletes?: boolean } = {},
): Promise<CycleOutcome> {
  const { config, state, clock } = deps;
  const job = config.name;
  const now = (): Date => clock.now();
  const thresholds = deps.thresholds ?? ENTRA_ESCROW_THRESHOLDS;

  // A changed mapping or scope re-evaluates everybody (§1.2, §2.2): drop the watermark.
  const jobRow = await state.ensureJob(job, now());
  const hash = scopeHash(config);
  if (jobRow.scopeHash !== hash) {
    await state.clearWatermark(job);
    await state.updateJob(job, { scopeHash: hash }, now());
  }

  const watermark = await state.getWatermark(job);
  const kind: CycleRow['kind'] = watermark === undefined ? 'initial' : 'incremental';
  const cycle: CycleRow = {
    id: randomUUID(),
    job,
    kind,
    state: 'running',
    startedAt: now().toISOString(),
    endedAt: null,
    totalUnits: 0,
    completedUnits: 0,
    stats: emptyStats(),
    error: null,
    instance: deps.instance ?? null,
    notice: null,
  };
  await state.startCycle(cycle);
  const stats: CycleStats = cycle.stats;

  let snapshot: SourceSnapshot;
  let nextWatermark: string;
  let changed: ReadonlySet<string> | undefined;
  try {
    if (watermark === undefined) {
      const all = await deps.source.readAll();
      snapshot = all.snapshot;
      nextWatermark = all.watermark;
    } else {
      const delta = await deps.source.readChanges(watermark);
      snapshot = delta.snapshot;
      nextWatermark = delta.watermark;
      changed = new Set([
        ...delta.changed.map((o) => linkKey(o.kind, o.id)),
        ...delta.deleted.map((d) => linkKey(d.kind, d.id)),
      ]);
    }
  } catch (e) {
    // The source failing is not the target's fault: the cycle fails and the next one tries again.
    const msg = `reading the source (${deps.source.description}) failed: ${(e as Error).message}`;
    Object.assign(cycle, { state: 'failed', endedAt: now().toISOString(), error: msg });
    await state.updateCycle(cycle.id, { state: 'failed', endedAt: cycle.endedAt, error: msg });
    return { cycle, escrowsPruned: false, stagedDeletes: 0 };
  }
  stats.imported = snapshot.users.length + snapshot.groups.length;

  const links = await state.loadLinks(job);
  const escrows = await state.loadEscrows(job);
  const outcome0: CycleOutcome = { cycle, escrowsPruned: false, stagedDeletes: 0 };
  const scope = new ScopeEvaluator(
    { scope: config.scope, provisionGroups: config.provisionGroups, filters: config.scopingFilters },
    snapshot,
  );
  const nowIso = now().toISOString();

  // ---- plan ----------------------------------------------------------------------------------------
  const scopeFailures: ObjectResult[] = [];
  /** Target object → the source object linked to it; built on the first match that needs it, kept up to date. */
  let linkedTargets: Map<string, string> | undefined;
  const ctx: ObjectContext = {
    config,
    client: deps.client,
    users: deps.users,
    groups: deps.groups,
    jobId: job,
    cycleId: cycle.id,
    now,
    linkedSource: (kind, targetId) => {
      if (!linkedTargets) {
        linkedTargets = new Map();
        for (const l of links.values()) linkedTargets.set(linkKey(l.kind, l.targetId), l.sourceId);
      }
      return linkedTargets.get(linkKey(kind, targetId));
    },
  };
  const candidates: Candidate[] = [];
  const present = new Set<string>();
  /** Objects in scope; `active`: users in scope that are enabled (the ones that get provisioned). */
  const inScope = { users: 0, groups: 0, active: 0 };
  /** Scoping clauses that took objects out of scope, and how many each (for the "nothing in scope" notice). */
  const outReasons = new Map<string, number>();
  const consider = (obj: SourceObject): void => {
    const key = linkKey(obj.kind, obj.id);
    present.add(key);
    const link = links.get(key);
    let ent: Entitlement;
    try {
      ent = scope.evaluate(obj);
    } catch (e) {
      const lb = new LogBuilder(
        ctx,
        { kind: obj.kind, sourceId: obj.id, obj, ent: undefined, link },
        displayNameOf(obj, link),
      );
      lb.fail(
        new SyncError('AttributeMappingError', `scoping filter: ${(e as Error).message}`),
        'scoping',
        'EntrySynchronizationScoping',
      );
      scopeFailures.push({ log: lb.build(), error: lb.error!, exported: false, deletion: false });
      return;
    }
    if (ent.inScope) {
      inScope[obj.kind === 'user' ? 'users' : 'groups']++;
      if (ent.active && obj.kind === 'user') inScope.active++;
    } else if (ent.outOfScope && obj.kind === 'user') {
      const k = ent.outOfScope.reason;
      outReasons.set(k, (outReasons.get(k) ?? 0) + 1);
    }
    if (changed) {
      const escrow = escrows.get(key);
      const include =
        changed.has(key) ||
        (escrow !== undefined && escrow.nextAttemptAt <= nowIso) ||
        (link !== undefined && link.managed && (!ent.inScope || ent.isSoftDeleted !== link.disabled)) ||
        (link !== undefined && !link.managed && ent.inScope) ||
        (link === undefined && ent.inScope && ent.active && escrow === undefined);
      if (!include) return;
    }
    const input: PlanInput = { kind: obj.kind, sourceId: obj.id, obj, ent, link };
    const om = obj.kind === 'user' ? deps.users : deps.groups;
    const plan = planObject(input, config, om);
    candidates.push({ ...input, plan, deletion: isDeletion(input, plan, om) });
  };
  for (const u of snapshot.users) consider(u);
  for (const g of snapshot.groups) consider(g);
  // Linked objects that are gone from the source were hard-deleted (§1.2 step 8).
  for (const [key, link] of links) {
    if (present.has(key)) continue;
    const input: PlanInput = {
      kind: link.kind,
      sourceId: link.sourceId,
      obj: undefined,
      ent: undefined,
      link,
    };
    const om = link.kind === 'user' ? deps.users : deps.groups;
    const plan = planObject(input, config, om);
    candidates.push({ ...input, plan, deletion: isDeletion(input, plan, om) });
  }

  // ---- accidental-deletion prevention (§11) ---------------------------------------------------------
  const deletions = candidates.filter((c) => c.deletion);
  const staged =
    config.deletionThreshold > 0 && deletions.length > config.deletionThreshold && !opts.forceDeletes;
  const work = staged ? candidates.filter((c) => !c.deletion) : candidates;
  const membershipGroups = deps.groups.members && config.provisionGroups ? snapshot.groups : [];
  cycle.totalUnits = scopeFailures.length + work.length + membershipGroups.length;
  cycle.notice = nothingInScope(snapshot, config, inScope, outReasons, deps.source.description) ?? null;
  outcome0.notice = cycle.notice ?? undefined;
  await state.updateCycle(cycle.id, {
    totalUnits: cycle.totalUnits,
    ...(cycle.notice ? { notice: cycle.notice } : {}),
  });

  // ---- buffers --------------------------------------------------------------------------------------
  let logBuf: ProvisioningLog[] = [];
  let linkUps = new Map<string, LinkRow>();
  let linkDels = new Map<string, { kind: LinkRow['kind']; sourceId: string }>();
  let escUps = new Map<string, EscrowRow>();
  let escDels = new Map<string, { kind: LinkRow['kind']; sourceId: string }>();
  let fatal: SyncError | undefined;
  let lastProgressWrite = 0;

  const flush = async (): Promise<void> => {
    const [l, lu, ld, eu, ed] = [logBuf, linkUps, linkDels, escUps, escDels];
    logBuf = [];
    linkUps = new Map();
    linkDels = new Map();
    escUps = new Map();
    escDels = new Map();
    await state.insertLogs(l);
    await state.saveLinks(job, [...lu.values()], [...ld.values()], now());
    await state.saveEscrows(job, [...eu.values()], [...ed.values()]);
    await state.updateCycle(cycle.id, { completedUnits: cycle.completedUnits, stats });
  };

  const record = async (
    c: PlanInput,
    r: ObjectResult,
    opts2: { escrow: boolean; membership?: boolean; scopedOut?: boolean } = { escrow: true },
  ): Promise<void> => {
    const key = linkKey(c.kind, c.sourceId);
    if (r.log) {
      logBuf.push(r.log);
      const a = r.log.action;
      if (r.log.status === 'failure') stats.failed++;
      else if (opts2.membership) stats.membershipChanges++;
      else if (opts2.scopedOut) stats.outOfScope = (stats.outOfScope ?? 0) + 1;
      else if (r.log.status === 'skipped') stats.skipped++;
      else if (a === 'create') stats.created++;
      else if (a === 'update') stats.updated++;
      else if (a === 'disable') stats.disabled++;
      else if (a === 'delete') stats.deleted++;
      // Objects out of scope are no provisioning events: they take no share in the escrow proportion (§9).
      if (!opts2.membership && !opts2.scopedOut) stats.evaluated++;
    }
    if (r.exported) stats.exports++;
    if (r.link === null) {
      const gone = links.get(key);
      if (gone && linkedTargets?.get(linkKey(gone.kind, gone.targetId)) === gone.sourceId)
        linkedTargets.delete(linkKey(gone.kind, gone.targetId));
      links.delete(key);
      linkUps.delete(key);
      linkDels.set(key, { kind: c.kind, sourceId: c.sourceId });
    } else if (r.link) {
      linkedTargets?.set(linkKey(r.link.kind, r.link.targetId), r.link.sourceId);
      links.set(key, r.link);
      linkDels.delete(key);
      linkUps.set(key, r.link);
    }
    if (r.error?.klass === 'quarantine' && !fatal) fatal = r.error;
    if (opts2.escrow) {
      const prev = escrows.get(key);
      if (r.error) {
        const attempts = (prev?.attempts ?? 0) + 1;
        const e: EscrowRow = {
          kind: c.kind,
          sourceId: c.sourceId,
          attempts,
          firstFailedAt: prev?.firstFailedAt ?? now().toISOString(),
          nextAttemptAt: new Date(
            now().getTime() + escrowDelayMs(attempts, config.intervalMinutes * 60_000),
          ).toISOString(),
          errorCode: r.error.code,
          reason: r.error.reason,
        };
        escrows.set(key, e);
        escUps.set(key, e);
      } else if (prev) {
        escrows.delete(key);
        escUps.delete(key);
        escDels.set(key, { kind: c.kind, sourceId: c.sourceId });
      }
    }
    cycle.completedUnits++;
    deps.onProgress?.(cycle.completedUnits, cycle.totalUnits);
    if (
      logBuf.length >= FLUSH_EVERY ||
      linkUps.size >= FLUSH_EVERY ||
      Date.now() - lastProgressWrite > 2000
    ) {
      lastProgressWrite = Date.now();
      await flush();
    }
  };

  for (const f of scopeFailures)
    await record(
      {
        kind: f.log!.sourceIdentity.identityType === 'User' ? 'user' : 'group',
        sourceId: f.log!.sourceIdentity.id,
        obj: undefined,
        ent: undefined,
        link: undefined,
      },
      f,
    );

  if (staged) {
    for (const c of deletions) {
      const lb = new LogBuilder(ctx, c, displayNameOf(c.obj, c.link));
      lb.action = 'stagedDelete';
      lb.status = 'skipped';
      lb.step(
        'processing',
        'EntrySynchronizationSkip',
        'skipped',
        `Held back: ${deletions.length} disables and deletes in this cycle exceed the accidental-deletion threshold of ${config.deletionThreshold}`,
        {
          SkipReason: 'TooManyDeletes',
          Intended: c.plan.kind === 'upsert' ? 'disable' : c.plan.kind,
        },
      );
      logBuf.push(lb.build());
      stats.staged++;
    }
  }

  // ---- users and groups first (§1.1) -------------------------------------------------------------
  const stopped = (): boolean => fatal !== undefined || deps.signal?.aborted === true;
  const run = async (list: readonly Candidate[]): Promise<void> => {
    // Unmatched objects are asked for in batches just before the workers reach them (match-batch.ts).
    const unmatched = list.filter((c) => c.plan.kind === 'upsert' && !c.link && c.ent?.active && c.obj);
    const kind = list[0]?.kind;
    if (kind)
      ctx.batch = {
        [kind]: MatchBatcher.create(
          deps.client,
          kind === 'user' ? 'User' : 'Group',
          kind === 'user' ? deps.users : deps.groups,
          unmatched.map((c) => ({ obj: c.obj!, isSoftDeleted: c.ent!.isSoftDeleted })),
          config.target.matchBatch,
          now,
        ),
      };
    await mapLimit(list, config.target.concurrency, async (c) => {
      if (stopped()) return;
      const r = await processObject(ctx, c, c.plan);
      await record(c, r, {
        escrow: true,
        scopedOut: c.plan.kind === 'skip' && c.plan.scopedOut === true,
      });
    });
  };
  await run(work.filter((c) => c.kind === 'user'));
  await run(work.filter((c) => c.kind === 'group'));

  // ---- then memberships ----------------------------------------------------------------------------
  if (!stopped() && membershipGroups.length) {
    // Links by source id (ids are unique across users and groups in every source): no key string per member.
    const bySource = new Map<string, LinkRow>();
    for (const l of links.values()) bySource.set(l.sourceId, l);
    await mapLimit(membershipGroups, config.target.concurrency, async (g) => {
      if (stopped()) return;
      const r = await syncMembers(ctx, g, links, bySource);
      if (r)
        await record(
          { kind: 'group', sourceId: g.id, obj: g, ent: undefined, link: links.get(linkKey('group', g.id)) },
          r,
          { escrow: false, membership: true },
        );
      else {
        cycle.completedUnits++;
        deps.onProgress?.(cycle.completedUnits, cycle.totalUnits);
      }
    });
  }
  await flush();
  if (deps.signal?.aborted) {
    // Another instance holds the job now: stop here, leave the watermark where it was (it continues from it).
    const why = deps.signal.reason instanceof Error ? deps.signal.reason.message : 'the job lease was lost';
    Object.assign(cycle, { state: 'failed', endedAt: now().toISOString(), error: `stopped: ${why}` });
    await state.updateCycle(cycle.id, { state: 'failed', endedAt: cycle.endedAt, error: cycle.error, stats });
    return { ...outcome0, cycle, stagedDeletes: 0, aborted: true };
  }
  deps.onProgress?.(cycle.completedUnits, cycle.totalUnits);

  // ---- judge the cycle -----------------------------------------------------------------------------
  const outcome: CycleOutcome = {
    ...outcome0,
    cycle,
    escrowsPruned: false,
    stagedDeletes: staged ? deletions.length : 0,
  };
  const failures = escrows.size;
  const events = stats.evaluated;
  let thresholdReason: QuarantineInfo['reason'] | undefined;
  if (failures >= thresholds.absolute) thresholdReason = 'EncounteredTotalEscrowThreshold';
  else if (failures >= thresholds.base && failures > thresholds.total)
    thresholdReason = 'EncounteredBaseEscrowThreshold';
  else if (failures >= thresholds.base && events > 0 && stats.failed / events > thresholds.proportion)
    thresholdReason = 'EncounteredEscrowProportionThreshold';

  if (fatal) {
    outcome.quarantine = {
      reason: 'EncounteredQuarantineException',
      error: fatal.reason,
      errorCode: fatal.code,
    };
  } else if (thresholdReason && kind === 'initial') {
    // §1.4: during the initial cycle the escrows are pruned and the job is paused once the cycle completes.
    await state.clearEscrows(job);
    outcome.escrowsPruned = true;
  } else if (thresholdReason) {
    outcome.quarantine = {
      reason: thresholdReason,
      error: `${failures} objects are failing (${stats.failed} of ${events} in the last cycle)`,
    };
  } else if (staged) {
    outcome.quarantine = {
      reason: 'TooManyDeletes',
      error: `${deletions.length} disables and deletes in one cycle exceed the accidental-deletion threshold of ${config.deletionThreshold}; run 'joyn-scim sync allow-deletes' to carry them out`,
    };
  }

  // The watermark moves only when the cycle reached the end; staged and escrowed objects are found again
  // through their links and escrows, not through the delta.
  if (!fatal) await state.setWatermark(job, nextWatermark, now());
  cycle.state = fatal ? 'failed' : staged ? 'staged' : stats.failed > 0 ? 'entryLevelErrors' : 'succeeded';
  cycle.endedAt = now().toISOString();
  if (fatal) cycle.error = `${fatal.code}: ${fatal.reason}`;
  await state.updateCycle(cycle.id, {
    state: cycle.state,
    endedAt: cycle.endedAt,
    stats,
    completedUnits: cycle.completedUnits,
    ...(cycle.error ? { error: cycle.error } : {}),
  });
  await state.pruneLogs(job, new Date(now().getTime() - config.logRetentionDays * 86_400_000));
  return outcome;
}

/**
 * Why a cycle has nothing to provision, in words that say what to change (issue 16: a source without assignments and
 * the default `scope: assigned` used to give "succeeded; 0 created" and nothing else). Undefined when something is
 * in scope and active.
 */
export function nothingInScope(
  snapshot: SourceSnapshot,
  config: JobConfig,
  inScope: { users: number; groups: number; active: number },
  outReasons: ReadonlyMap<string, number>,
  sourceDescription: string,
): string | undefined {
  if (inScope.active > 0) return undefined;
  const users = snapshot.users.length;
  const groups = snapshot.groups.length;
  if (users === 0 && groups === 0)
    return `nothing in scope: the source (${sourceDescription}) has no users or groups`;
  // Groups alone in scope are provisioned without members: still worth saying that no user is.
  const what = inScope.groups ? `no user in scope (${inScope.groups} group(s) are)` : 'nothing in scope';
  if (inScope.users > 0)
    return `${what}: the ${inScope.users} user(s) in scope are all disabled or soft-deleted in the source (accountEnabled false or softDeleted)`;
  if (config.scope === 'assigned' && snapshot.assignments.length === 0)
    return (
      `${what}: scope is 'assigned' but the source has no assignments (${users} users and ${groups} groups, none assigned to the app). ` +
      `List the assigned users and groups in the export's "assignments" (assignments.csv), or assignmentGroupDNs for LDAP, or set scope: all to provision every user`
    );
  if (users === 0) return `${what}: the source (${sourceDescription}) has no users`;
  const top = [...outReasons].sort((a, b) => b[1] - a[1])[0];
  return `${what}: none of the ${users} users is in scope${top ? `; most common reason (${top[1]} users): ${top[0]}` : ''}`;
}

/**
 * Membership of one group: PATCH add/remove of members by target id (§6.1). Only linked members flow;
 * the exported set is kept on the group's link so an incremental cycle sends only the difference.
 */
async function syncMembers(
  ctx: ObjectContext,
  g: SourceObject,
  links: Map<string, LinkRow>,
  bySource: ReadonlyMap<string, LinkRow>,
): Promise<ObjectResult | undefined> {
  const glink = links.get(linkKey('group', g.id));
  if (!glink || !glink.managed) return undefined;
  const members = g.members ?? [];
  const storedList = glink.members ?? [];
  // Unchanged (most groups in an incremental cycle): the exported list is the members in source order, all linked.
  if (members.length === storedList.length) {
    let same = true;
    for (let i = 0; same && i < members.length; i++)
      same = members[i] === storedList[i] && bySource.has(members[i]!);
    if (same) return undefined;
  }
  const desired = new Map<string, string>();
  for (const m of members) {
    const l = bySource.get(m);
    if (l) desired.set(m, l.targetId);
  }
  const stored = new Set(storedList);
  const add = [...desired.keys()].filter((m) => !stored.has(m));
  const remove = [...stored].filter((m) => !desired.has(m));
  if (!add.length && !remove.length) return undefined;
  const removeTargets = remove.map((m) => bySource.get(m)?.targetId).filter((x): x is string => !!x);
  const p: PlanInput = { kind: 'group', sourceId: g.id, obj: g, ent: undefined, link: glink };
  const lb = new LogBuilder(ctx, p, displayNameOf(g, glink));
  lb.action = 'update';
  lb.step('matching', 'EntryMatching', 'success', `Linked to target Group '${glink.targetId}' (cached link)`);
  lb.step(
    'referenceResolution',
    'EntryReferenceResolution',
    'success',
    `Resolved ${desired.size} member(s) to linked target objects`,
  );
  lb.modified = [
    {
      displayName: 'members',
      oldValue: remove.length ? `remove: ${removeTargets.join(',')}` : null,
      newValue: add.length ? `add: ${add.map((m) => desired.get(m)).join(',')}` : null,
    },
  ];
  try {
    await ctx.client.changeMembers(
      glink.targetId,
      add.map((m) => desired.get(m)!),
      removeTargets,
    );
    lb.step(
      'export',
      'EntryExportUpdate',
      'success',
      `Added ${add.length} and removed ${remove.length} member(s)`,
    );
    return {
      log: lb.build(),
      link: { ...glink, members: [...desired.keys()] },
      exported: true,
      deletion: false,
    };
  } catch (e) {
    const err = lb.fail(toSyncError(e), 'export', 'EntryExportUpdate');
    return { log: lb.build(), error: err, exported: false, deletion: false };
  }
}
