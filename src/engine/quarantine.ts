/**
 * Quarantine schedule (entra-provisioning-engine.md §9): after the failure that quarantined the job, retry 6 h
 * later, then 12 h and 24 h after the first failure, then every 24 h; after four weeks the job is disabled.
 * Pure functions of a start time, a retry count and "now", so tests run weeks with a FakeClock.
 */
import { DAY, HOUR } from './clock.js';
import type { QuarantineInfo } from './state/store.js';

/** Offsets from the start of the series for the first retries. */
const FIRST_RETRIES_H = [6, 12, 24] as const;
export const QUARANTINE_DISABLE_AFTER_MS = 28 * DAY;

/** When retry number `retriesDone + 1` is due. */
export function nextQuarantineAttempt(seriesBegan: Date, retriesDone: number): Date {
  const base = seriesBegan.getTime();
  const offset =
    retriesDone < FIRST_RETRIES_H.length
      ? FIRST_RETRIES_H[retriesDone]! * HOUR
      : (24 + (retriesDone - FIRST_RETRIES_H.length + 1) * 24) * HOUR;
  return new Date(base + offset);
}

/** More than four weeks in quarantine: the job is disabled (§9). */
export function quarantineExpired(q: QuarantineInfo, now: Date): boolean {
  return now.getTime() - new Date(q.seriesBegan).getTime() > QUARANTINE_DISABLE_AFTER_MS;
}

/**
 * The quarantine state after a cycle that ended with a job-level problem. Keeps the series when the job was
 * already quarantined (a failed retry), starts one otherwise. TooManyDeletes waits for the admin (§11).
 */
export function nextQuarantine(
  prev: QuarantineInfo | undefined,
  reason: QuarantineInfo['reason'],
  error: string,
  errorCode: string | undefined,
  now: Date,
): QuarantineInfo {
  const iso = now.toISOString();
  if (!prev) {
    return {
      reason,
      error,
      ...(errorCode ? { errorCode } : {}),
      seriesBegan: iso,
      currentBegan: iso,
      nextAttempt: reason === 'TooManyDeletes' ? null : nextQuarantineAttempt(now, 0).toISOString(),
      seriesCount: 0,
    };
  }
  const seriesCount = prev.seriesCount + 1;
  return {
    reason,
    error,
    ...(errorCode ? { errorCode } : {}),
    seriesBegan: prev.seriesBegan,
    currentBegan: prev.reason === reason ? prev.currentBegan : iso,
    nextAttempt:
      reason === 'TooManyDeletes'
        ? null
        : nextQuarantineAttempt(new Date(prev.seriesBegan), seriesCount).toISOString(),
    seriesCount,
  };
}
