/**
 * Export of provisioning logs (entra-provisioning-engine.md §7.2): JSON (one array of records) or CSV (one row per
 * record; steps and modified properties as readable text columns, joined by changeId like Entra's download).
 */
import type { ProvisioningLog } from './log-types.js';

const COLUMNS = [
  'activityDateTime',
  'cycleId',
  'changeId',
  'action',
  'status',
  'identityType',
  'sourceId',
  'sourceDisplayName',
  'targetId',
  'errorCode',
  'reason',
  'recommendedAction',
  'durationMs',
  'modifiedProperties',
  'steps',
] as const;

function cell(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function logsToCsv(logs: readonly ProvisioningLog[]): string {
  const rows = logs.map((l) =>
    [
      l.activityDateTime,
      l.cycleId,
      l.changeId,
      l.action,
      l.status,
      l.sourceIdentity.identityType,
      l.sourceIdentity.id,
      l.sourceIdentity.displayName,
      l.targetIdentity?.id,
      l.errorCode,
      l.reason,
      l.recommendedAction,
      Math.round(l.durationMs),
      l.modifiedProperties
        .map((m) => `${m.displayName}: ${m.oldValue ?? '(none)'} → ${m.newValue ?? '(none)'}`)
        .join('; '),
      l.steps.map((s) => `${s.type}/${s.name}: ${s.status}: ${s.description}`).join(' | '),
    ]
      .map(cell)
      .join(','),
  );
  return [COLUMNS.join(','), ...rows].join('\r\n') + '\r\n';
}

export function logsToJson(logs: readonly ProvisioningLog[]): string {
  return JSON.stringify(logs, null, 2) + '\n';
}

/**
 * One human line per record for the terminal: time, action, status, who, the attributes that changed, then the
 * error code, the reason and the recommended action when there are any (a failure or a skip says why and what to do).
 */
export function formatLogLine(l: ProvisioningLog): string {
  const who =
    `${l.sourceIdentity.identityType} ${l.sourceIdentity.displayName ?? ''} (${l.sourceIdentity.id})`.replace(
      '  ',
      ' ',
    );
  const mods = l.modifiedProperties.length
    ? ` [${l.modifiedProperties.map((m) => m.displayName).join(', ')}]`
    : '';
  const code = l.errorCode ? ` ${l.errorCode}` : '';
  const reason = l.reason ? ` | reason: ${l.reason}` : '';
  const action = l.recommendedAction ? ` | recommended action: ${l.recommendedAction}` : '';
  return `${l.activityDateTime}  ${l.action.padEnd(12)} ${l.status.padEnd(8)} ${who}${mods}${code}${reason}${action}`;
}
