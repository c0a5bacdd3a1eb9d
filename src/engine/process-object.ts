/**
 * The per-object pipeline of a cycle (entra-provisioning-engine.md §1.1, §5, §6): import → scoping → matching →
 * processing → export, producing one provisioning-log record (§7.1) and the new link state.
 * Shared by cycles and by provision-on-demand (§12), so both take exactly the same decisions.
 */
import { randomUUID } from 'node:crypto';
import type { JsonObject, JsonValue } from '../scim/types.js';
import type { JobConfig } from './config.js';
import type { Entitlement } from './entitlement.js';
import { SyncError, toSyncError } from './errors.js';
import type {
  ModifiedProperty,
  ProvisioningAction,
  ProvisioningLog,
  ProvisioningStatus,
  ProvisioningStep,
} from './log-types.js';
import {
  buildCreateBody,
  diffForUpdate,
  lookup,
  mappingAttributes,
  matchingValues,
  type AttributeChange,
  type ObjectMapping,
} from './mapping.js';
import type { MatchBatcher } from './match-batch.js';
import type { ScimClient } from './scim-client.js';
import type { LinkRow, ObjectKind } from './state/store.js';
import type { SourceObject } from './types.js';

export type SkipCode =
  | 'NotAssigned'
  | 'ScopingFilter'
  | 'GroupsOff'
  | 'TargetActionOff'
  | 'SkipOutOfScopeDeletions'
  | 'NoActiveMapping'
  | 'NotManaged';

/** What an admin can do about a skipped object, by skip code (the log's recommendedAction). */
const SKIP_ACTION: Partial<Record<SkipCode, string>> = {
  NotAssigned:
    'Assign the object to the app (or, for a user, a group it is a direct member of), or set scope: all, if it should be provisioned.',
  ScopingFilter:
    'Change the source value or the scoping filter named in the reason, if the object should be provisioned.',
  GroupsOff: 'Set provisionGroups: true to provision groups.',
  TargetActionOff: 'Turn the target action on in targetActions, if the change should flow.',
};

/** What the planner decided for an object before any request is sent. */
export type Plan =
  | { kind: 'upsert' }
  | { kind: 'disable' }
  | { kind: 'delete'; why: 'hardDeleted' | 'outOfScope' }
  | {
      kind: 'skip';
      reason: string;
      /** Short code for the log's SkipReason (the reason itself is said once, in the step's description). */
      code: SkipCode;
      unmanage?: boolean;
      dropLink?: boolean;
      /** Out of scope (not a provisioning event: no share in the escrow threshold's proportion). */
      scopedOut?: boolean;
    }
  | { kind: 'ignore'; dropLink?: boolean; unmanage?: boolean };

export interface PlanInput {
  kind: ObjectKind;
  sourceId: string;
  obj: SourceObject | undefined;
  ent: Entitlement | undefined;
  link: LinkRow | undefined;
}

export interface ObjectContext {
  config: JobConfig;
  client: ScimClient;
  users: ObjectMapping;
  groups: ObjectMapping;
  jobId: string;
  cycleId: string;
  now: () => Date;
  /** This cycle's batched matching of unmatched objects (match-batch.ts); absent: one query per object. */
  batch?: { user?: MatchBatcher; group?: MatchBatcher };
  /** The source object already linked to a target object, if any (§5: DuplicateSourceEntries). */
  linkedSource?: (kind: ObjectKind, targetId: string) => string | undefined;
}

export interface ObjectResult {
  log?: ProvisioningLog;
  /** New link state; `null` drops the link; undefined leaves it. */
  link?: LinkRow | null;
  error?: SyncError;
  /** A write reached the target. */
  exported: boolean;
  /** disable or delete that was carried out (counts toward the deletion threshold). */
  deletion: boolean;
}

/** True when carrying out `plan` removes or disables something in the target (§11: disables count too). */
export function isDeletion(p: PlanInput, plan: Plan, om: ObjectMapping): boolean {
  if (plan.kind === 'disable' || plan.kind === 'delete') return true;
  // A linked, active object that is now disabled or soft-deleted in the source is disabled by its update.
  return (
    plan.kind === 'upsert' &&
    !!p.link &&
    p.link.managed &&
    !p.link.disabled &&
    !!p.ent?.isSoftDeleted &&
    !!om.active
  );
}

/** Decides what to do with one object (no I/O). */
export function planObject(p: PlanInput, config: JobConfig, om: ObjectMapping): Plan {
  const { obj, ent, link } = p;
  if (!obj) {
    if (!link) return { kind: 'ignore' };
    // §6: only a still-managed object is deleted; one already disabled for leaving scope is no longer managed.
    if (!link.managed) return { kind: 'ignore', dropLink: true };
    if (!config.targetActions.delete)
      return {
        kind: 'skip',
        code: 'TargetActionOff',
        reason: 'Deleted in the source, but the Delete target action is off',
        dropLink: true,
      };
    return { kind: 'delete', why: 'hardDeleted' };
  }
  if (!ent) return { kind: 'ignore' };
  if (ent.inScope) return { kind: 'upsert' };
  const why = ent.outOfScope ?? { code: 'ScopingFilter' as const, reason: 'Out of scope' };
  // Every object that is out of scope gets a skipped record saying why (issue 16), also when it is not managed.
  if (!link) return { kind: 'skip', code: why.code, reason: why.reason, scopedOut: true };
  if (!link.managed)
    return {
      kind: 'skip',
      code: why.code,
      reason: `${why.reason}; it was disabled when it left scope and is no longer managed`,
      scopedOut: true,
    };
  if (config.skipOutOfScopeDeletions)
    return {
      kind: 'skip',
      code: 'SkipOutOfScopeDeletions',
      reason: `${why.reason}; SkipOutOfScopeDeletions is set, so the target object is left as it is`,
      unmanage: true,
    };
  if (p.kind === 'group') {
    // Groups cannot be disabled: a group that leaves scope is deleted (it counts as a deletion, §11).
    if (!config.targetActions.delete)
      return {
        kind: 'skip',
        code: 'TargetActionOff',
        reason: `${why.reason}, but the Delete target action is off`,
        unmanage: true,
      };
    return { kind: 'delete', why: 'outOfScope' };
  }
  if (!om.active)
    return {
      kind: 'skip',
      code: 'NoActiveMapping',
      reason: `${why.reason}; no mapping writes active, so nothing is disabled (§6)`,
      unmanage: true,
    };
  if (!config.targetActions.update)
    return {
      kind: 'skip',
      code: 'TargetActionOff',
      reason: `${why.reason}, but the Update target action is off`,
      unmanage: true,
    };
  return { kind: 'disable' };
}

const fmt = (v: JsonValue | undefined): string | null =>
  v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v);

export function modifiedProperties(changes: readonly AttributeChange[]): ModifiedProperty[] {
  return changes.map((c) => ({
    displayName: c.path.text,
    oldValue: fmt(c.oldValue),
    newValue: fmt(c.newValue),
  }));
}

export function displayNameOf(obj: SourceObject | undefined, link: LinkRow | undefined): string | undefined {
  if (obj) {
    const v = lookup(obj.attributes, 'displayName') ?? lookup(obj.attributes, 'userPrincipalName');
    if (typeof v === 'string' && v) return v;
  }
  return link?.display ?? undefined;
}

/** Builds one log record while the pipeline runs. */
export class LogBuilder {
  readonly steps: ProvisioningStep[] = [];
  modified: ModifiedProperty[] = [];
  action: ProvisioningAction = 'other';
  status: ProvisioningStatus = 'success';
  targetId: string | undefined;
  error: SyncError | undefined;
  /** Why a skipped object was skipped, and what to do about it (the log's reason / recommendedAction). */
  private skipped: { reason: string; action?: string } | undefined;
  private readonly started = performance.now();

  constructor(
    private readonly ctx: ObjectContext,
    private readonly p: PlanInput,
    private readonly display: string | undefined,
  ) {}

  step(
    type: ProvisioningStep['type'],
    name: string,
    status: ProvisioningStatus,
    description: string,
    details?: Record<string, string>,
  ): void {
    this.steps.push({ name, type, status, description, ...(details ? { details } : {}) });
  }

  skip(reason: string, action?: string): void {
    this.skipped = { reason, ...(action ? { action } : {}) };
  }

  fail(e: unknown, type: ProvisioningStep['type'], name: string): SyncError {
    const err = toSyncError(e);
    this.error = err;
    this.status = 'failure';
    this.step(type, name, 'failure', err.reason, { errorCode: err.code });
    return err;
  }

  build(): ProvisioningLog {
    const identityType = this.p.kind === 'user' ? 'User' : 'Group';
    const log: ProvisioningLog = {
      jobId: this.ctx.jobId,
      cycleId: this.ctx.cycleId,
      changeId: randomUUID(),
      activityDateTime: this.ctx.now().toISOString(),
      action: this.action,
      status: this.status,
      steps: this.steps,
      modifiedProperties: this.modified,
      sourceIdentity: {
        id: this.p.sourceId,
        identityType,
        ...(this.display ? { displayName: this.display } : {}),
      },
      durationMs: Math.max(0, performance.now() - this.started),
    };
    const tid = this.targetId ?? this.p.link?.targetId;
    if (tid)
      log.targetIdentity = { id: tid, identityType, ...(this.display ? { displayName: this.display } : {}) };
    if (this.error) {
      log.errorCode = this.error.code;
      log.reason = this.error.reason;
      log.recommendedAction = this.error.recommendedAction;
    } else if (this.skipped) {
      log.reason = this.skipped.reason;
      if (this.skipped.action) log.recommendedAction = this.skipped.action;
    }
    return log;
  }
}

function importStep(lb: LogBuilder, p: PlanInput, kindName: string): void {
  if (!p.obj) {
    lb.step(
      'import',
      'EntryImportDelete',
      'success',
      `Received ${kindName} '${p.sourceId}' change of type (Delete) from the source`,
    );
    return;
  }
  const details: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.obj.attributes))
    if (v !== null && v !== undefined) details[k] = Array.isArray(v) ? v.join(';') : String(v);
  lb.step(
    'import',
    'EntryImport',
    'success',
    `Retrieved ${kindName} '${p.sourceId}' from the source`,
    details,
  );
}

function scopingStep(lb: LogBuilder, ent: Entitlement | undefined, config: JobConfig): void {
  if (!ent) return;
  lb.step(
    'scoping',
    'EntrySynchronizationScoping',
    ent.inScope ? 'success' : 'skipped',
    ent.inScope ? 'Determined that the object is in scope' : 'Determined that the object is out of scope',
    {
      Assigned: String(ent.assigned),
      SyncAll: String(config.scope === 'all'),
      PassesScopingFilters: String(ent.passesFilters),
      IsActive: String(ent.active),
      IsSoftDeleted: String(ent.isSoftDeleted),
      ScopeEvaluationResult: ent.inScope ? 'InScope' : 'OutOfScope',
      ...(ent.outOfScope ? { OutOfScopeReason: ent.outOfScope.code } : {}),
    },
  );
}

/** Runs the pipeline for one planned object. Never throws: failures become the log's failure status. */
export async function processObject(ctx: ObjectContext, p: PlanInput, plan: Plan): Promise<ObjectResult> {
  const kindName = p.kind === 'user' ? 'User' : 'Group';
  const rt = kindName;
  const om = p.kind === 'user' ? ctx.users : ctx.groups;
  const display = displayNameOf(p.obj, p.link);
  const lb = new LogBuilder(ctx, p, display);
  const result = (link?: LinkRow | null, exported = false, deletion = false): ObjectResult => ({
    log: lb.build(),
    ...(link !== undefined ? { link } : {}),
    ...(lb.error ? { error: lb.error } : {}),
    exported,
    deletion,
  });
  importStep(lb, p, kindName);
  scopingStep(lb, p.ent, ctx.config);

  if (plan.kind === 'ignore')
    return {
      exported: false,
      deletion: false,
      ...(plan.dropLink
        ? { link: null }
        : plan.unmanage && p.link
          ? { link: { ...p.link, managed: false } }
          : {}),
    };
  if (plan.kind === 'skip') {
    lb.status = 'skipped';
    lb.skip(plan.reason, SKIP_ACTION[plan.code]);
    lb.step('processing', 'EntrySynchronizationSkip', 'skipped', plan.reason, { SkipReason: plan.code });
    return result(plan.dropLink ? null : plan.unmanage && p.link ? { ...p.link, managed: false } : undefined);
  }

  if (plan.kind === 'delete') {
    const link = p.link!;
    lb.action = 'delete';
    lb.step(
      'matching',
      'EntryMatching',
      'success',
      `Linked to target ${kindName} '${link.targetId}' (cached link)`,
    );
    lb.step(
      'processing',
      'EntrySynchronizationDelete',
      'success',
      plan.why === 'hardDeleted'
        ? 'Deleted in the source: delete in the target'
        : 'Out of scope: delete the group in the target',
    );
    try {
      await ctx.client.delete(rt, link.targetId);
      lb.step(
        'export',
        'EntryExportDelete',
        'success',
        `Deleted ${kindName} '${link.targetId}' in the target`,
      );
    } catch (e) {
      if (e instanceof SyncError && e.code === 'InvalidAnchor') {
        // Already gone: the goal of the delete is reached.
        lb.step(
          'export',
          'EntryExportDelete',
          'success',
          `${kindName} '${link.targetId}' was already absent in the target`,
        );
      } else {
        lb.fail(e, 'export', 'EntryExportDelete');
        return result(undefined, false, false);
      }
    }
    return result(null, true, true);
  }

  if (plan.kind === 'disable') {
    const link = p.link!;
    lb.action = 'disable';
    lb.step(
      'matching',
      'EntryMatching',
      'success',
      `Linked to target ${kindName} '${link.targetId}' (cached link)`,
    );
    try {
      const target = await ctx.client.get(rt, link.targetId);
      const attrs = mappingAttributes(p.obj!, true);
      const changes = diffForUpdate(om, attrs, target, ctx.now, (m) => m === om.active);
      const unmanaged: LinkRow = {
        ...link,
        managed: false,
        disabled: true,
        display: display ?? link.display,
      };
      if (!changes.length) {
        lb.action = 'other';
        lb.status = 'skipped';
        lb.skip('Out of scope and already disabled in the target');
        lb.step(
          'processing',
          'EntrySynchronizationSkip',
          'skipped',
          'Out of scope and already disabled in the target',
          { SkipReason: 'RedundantExport' },
        );
        return result(unmanaged);
      }
      lb.step(
        'processing',
        'EntrySynchronizationUpdate',
        'success',
        'Out of scope (unassigned or filtered out): disable in the target',
      );
      lb.modified = modifiedProperties(changes);
      await ctx.client.updateAttributes(rt, link.targetId, changes);
      lb.step(
        'export',
        'EntryExportUpdate',
        'success',
        `Disabled ${kindName} '${link.targetId}' in the target`,
      );
      return result(unmanaged, true, true);
    } catch (e) {
      lb.fail(e, 'export', 'EntryExportUpdate');
      return result();
    }
  }

  // upsert: the object is in scope.
  const obj = p.obj!;
  const ent = p.ent!;
  const attrs = mappingAttributes(obj, ent.isSoftDeleted);
  let target: JsonObject | undefined;
  let targetId = p.link?.targetId;
  let values: { path: { text: string }; value: string | undefined }[] = [];

  /**
   * §5: each matching attribute in precedence order until one finds the object. `batched`: values a batched query
   * already ruled out (match-batch.ts) are not asked again. 'failed' when the object failed (logged on lb).
   */
  const match = async (batched: boolean): Promise<JsonObject | undefined | 'failed'> => {
    const batch = batched ? (p.kind === 'user' ? ctx.batch?.user : ctx.batch?.group) : undefined;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v.value === undefined) continue;
      const details = { MatchingAttribute: v.path.text, Value: v.value };
      if (batch && (await batch.ruledOut(obj, i))) {
        lb.step(
          'matching',
          'EntryMatching',
          'success',
          `No target ${kindName} has ${v.path.text} eq "${v.value}" (asked in one query with other ${kindName.toLowerCase()}s)`,
          details,
        );
        continue;
      }
      const hits = await ctx.client.query(rt, v.path.text, v.value);
      if (hits.length > 1) {
        lb.fail(
          new SyncError(
            'DuplicateTargetEntries',
            `${hits.length} target ${kindName}s have ${v.path.text} eq "${v.value}"`,
          ),
          'matching',
          'EntryMatching',
        );
        return 'failed';
      }
      if (hits.length === 1) {
        const hit = hits[0]!;
        const other = ctx.linkedSource?.(p.kind, String(hit.id));
        if (other !== undefined && other !== p.sourceId) {
          // §5: several source objects with one matching value; the first one keeps the target object.
          lb.fail(
            new SyncError(
              'DuplicateSourceEntries',
              `Target ${kindName} '${String(hit.id)}' (${v.path.text} eq "${v.value}") is already linked to source object '${other}'`,
            ),
            'matching',
            'EntryMatching',
          );
          return 'failed';
        }
        lb.step(
          'matching',
          'EntryMatching',
          'success',
          `Matched target ${kindName} '${String(hit.id)}' on ${v.path.text} eq "${v.value}"`,
          details,
        );
        return hit;
      }
      lb.step(
        'matching',
        'EntryMatching',
        'success',
        `No target ${kindName} has ${v.path.text} eq "${v.value}"`,
        details,
      );
    }
    return undefined;
  };

  try {
    if (p.link) {
      lb.step(
        'matching',
        'EntryMatching',
        'success',
        `Linked to target ${kindName} '${p.link.targetId}' (cached link, no query)`,
      );
      target = await ctx.client.get(rt, p.link.targetId);
    } else {
      if (!ent.active) {
        // §2.1: provisioning a user who is disabled or soft-deleted in the source is not supported.
        lb.status = 'skipped';
        lb.skip('Disabled or soft-deleted in the source and never provisioned: not created');
        lb.step(
          'processing',
          'EntrySynchronizationSkip',
          'skipped',
          'Disabled or soft-deleted in the source and never provisioned: not created',
          { SkipReason: 'NotEffectivelyEntitled' },
        );
        return result();
      }
      try {
        values = matchingValues(om, attrs, ctx.now);
      } catch (e) {
        lb.fail(e, 'import', 'EntryImport');
        return result();
      }
      if (values.every((v) => v.value === undefined)) {
        lb.fail(
          new SyncError(
            'ImportSkipped',
            `The ${kindName} has no value for any matching attribute (${values.map((v) => v.path.text).join(', ')})`,
          ),
          'import',
          'EntryImport',
        );
        return result();
      }
      const m = await match(true);
      if (m === 'failed') return result();
      if (m) {
        target = m;
        targetId = String(m.id);
      }
    }

    if (!target) {
      if (!ctx.config.targetActions.create) {
        lb.status = 'skipped';
        lb.skip('No match in the target, but the Create target action is off');
        lb.step(
          'processing',
          'EntrySynchronizationSkip',
          'skipped',
          'No match in the target, but the Create target action is off',
        );
        return result();
      }
      const { body, changes } = buildCreateBody(om, attrs, ctx.now);
      lb.action = 'create';
      lb.modified = modifiedProperties(changes);
      lb.step('processing', 'EntrySynchronizationAdd', 'success', `Create the ${kindName} in the target`);
      let created: JsonObject | undefined;
      try {
        created = await ctx.client.create(rt, body);
      } catch (e) {
        if (!(e instanceof SyncError && e.status === 409)) throw e;
        // Created by someone else since it was matched (another client, or between a batched query and this
        // create): match again by query, as the next cycle would, and update the object found (RFC 7644 §3.3:
        // 409 uniqueness). No match: the conflict is on another attribute, and the object fails with it.
        lb.step(
          'matching',
          'EntryMatching',
          'success',
          `The create met a conflict (${e.reason}); matching again`,
        );
        const again = await match(false);
        if (again === 'failed') return result();
        if (!again) throw e;
        target = again;
        targetId = String(again.id);
        lb.action = 'other';
        lb.modified = [];
      }
      if (created) {
        targetId = String(created.id);
        lb.targetId = targetId;
        lb.step('export', 'EntryExportAdd', 'success', `Created ${kindName} '${targetId}' in the target`);
        return result(
          {
            kind: p.kind,
            sourceId: p.sourceId,
            targetId,
            managed: true,
            disabled: ent.isSoftDeleted,
            display: display ?? null,
            members: p.kind === 'group' ? [] : null,
          },
          true,
        );
      }
    }

    lb.targetId = targetId;
    const link: LinkRow = {
      kind: p.kind,
      sourceId: p.sourceId,
      targetId: targetId!,
      managed: true,
      disabled: ent.isSoftDeleted,
      display: display ?? null,
      members: p.link?.members ?? null,
    };
    const changes = diffForUpdate(om, attrs, target!, ctx.now);
    if (!changes.length) {
      lb.status = 'skipped';
      lb.skip('The target already holds every mapped value');
      lb.step(
        'processing',
        'EntrySynchronizationSkip',
        'skipped',
        'The target already holds every mapped value',
        { SkipReason: 'RedundantExport' },
      );
      return result(link);
    }
    if (!ctx.config.targetActions.update) {
      lb.status = 'skipped';
      lb.skip('Attributes differ, but the Update target action is off');
      lb.step(
        'processing',
        'EntrySynchronizationSkip',
        'skipped',
        'Attributes differ, but the Update target action is off',
      );
      return result(link);
    }
    const disables = !!om.active && changes.some((c) => c.path === om.active!.path && c.newValue === false);
    lb.action = disables ? 'disable' : 'update';
    lb.modified = modifiedProperties(changes);
    lb.step(
      'processing',
      'EntrySynchronizationUpdate',
      'success',
      `Update ${changes.length} attribute(s) that differ in the target`,
    );
    await ctx.client.updateAttributes(rt, targetId!, changes);
    lb.step('export', 'EntryExportUpdate', 'success', `Updated ${kindName} '${targetId}' in the target`);
    return result(link, true, disables);
  } catch (e) {
    lb.fail(e, 'export', lb.action === 'create' ? 'EntryExportAdd' : 'EntryExportUpdate');
    return result();
  }
}
