/**
 * When a failed delivery is tried again (docs/events.md "Retries"): exponential backoff from 10 s, doubling up
 * to 6 h between attempts, with "equal jitter" (each delay is drawn from its upper half, so deliveries that failed
 * together do not return together); a 429 or 503 with Retry-After waits what the receiver asked (capped like
 * any delay). Attempts continue for the retry window (WEBHOOKS_RETRY_HOURS, default 72 h) from the first attempt;
 * the last one falls at the end of the window, and a failure then gives the delivery up.
 */
export const FIRST_RETRY_MS = 10_000;
export const MAX_RETRY_DELAY_MS = 6 * 60 * 60_000;
/** A Retry-After shorter than this is treated as this (a receiver answering "0" is not hammered). */
export const MIN_RETRY_AFTER_MS = 1000;

/** The delay after the n-th consecutive failure of a delivery (n ≥ 1). */
export function backoffDelay(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(FIRST_RETRY_MS * 2 ** Math.min(Math.max(failures, 1) - 1, 40), MAX_RETRY_DELAY_MS);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export type RetryDecision = { giveUp: true } | { giveUp: false; at: Date };

export function nextAttempt(opts: {
  now: Date;
  /** When this delivery was first attempted. */
  firstAttemptAt: Date;
  /** Failures so far, this one included. */
  failures: number;
  retryWindowMs: number;
  retryAfterMs?: number | undefined;
  random?: () => number;
}): RetryDecision {
  const end = opts.firstAttemptAt.getTime() + opts.retryWindowMs;
  const now = opts.now.getTime();
  if (now >= end) return { giveUp: true };
  const delay =
    opts.retryAfterMs !== undefined
      ? Math.min(Math.max(opts.retryAfterMs, MIN_RETRY_AFTER_MS), MAX_RETRY_DELAY_MS)
      : backoffDelay(opts.failures, opts.random);
  return { giveUp: false, at: new Date(Math.min(now + delay, end)) };
}
