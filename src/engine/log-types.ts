/**
 * Provisioning log records, shaped after Graph's provisioningObjectSummary (entra-provisioning-engine.md §7.1):
 * one record per object per cycle.
 */
export type ProvisioningAction = 'create' | 'update' | 'disable' | 'delete' | 'stagedDelete' | 'other';
export type ProvisioningStatus = 'success' | 'failure' | 'skipped' | 'warning';
export type StepType = 'import' | 'scoping' | 'matching' | 'processing' | 'referenceResolution' | 'export';

export interface ProvisioningStep {
  /** Entra's step names: EntryImport, EntrySynchronizationScoping, EntryMatching, EntrySynchronizationAdd, … */
  name: string;
  type: StepType;
  status: ProvisioningStatus;
  description: string;
  details?: Record<string, string>;
}

export interface ModifiedProperty {
  displayName: string;
  oldValue: string | null;
  newValue: string | null;
}

export interface Identity {
  id: string;
  displayName?: string;
  identityType: 'User' | 'Group';
}

export interface ProvisioningLog {
  jobId: string;
  cycleId: string;
  changeId: string;
  activityDateTime: string;
  action: ProvisioningAction;
  status: ProvisioningStatus;
  errorCode?: string;
  reason?: string;
  recommendedAction?: string;
  steps: ProvisioningStep[];
  modifiedProperties: ModifiedProperty[];
  sourceIdentity: Identity;
  targetIdentity?: Identity;
  durationMs: number;
}

export interface LogQuery {
  job: string;
  status?: ProvisioningStatus;
  action?: ProvisioningAction;
  cycleId?: string;
  /** Substring of the source or target display name or id (case-insensitive). */
  search?: string;
  /** ISO timestamp: records at or after it. */
  since?: string;
  limit?: number;
  /** Newest first only: records older than this one (the last of the previous page), for paging back. */
  before?: { at: string; changeId: string };
  /** Newest first (default) or oldest first. */
  order?: 'newest' | 'oldest';
}
