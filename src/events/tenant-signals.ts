/**
 * Tenant-level events, raised from the SCIM request path without slowing it: `tenant.connected` on the first
 * authenticated request from the identity provider, `tenant.credentials_rejected` when requests for a tenant keep
 * failing authentication (a rotated or mistyped Secret Token: the most common Entra ticket). Both are recorded
 * with a mark on the tenant row in the same transaction as the event, so every instance raises each at most once
 * (credentials_rejected at most once an hour).
 */
import type { Store } from '../store/types.js';

/** Consecutive 401s for one tenant (on one instance) that make a streak worth an event. */
export const REJECTION_STREAK = 5;
const REJECTED_AGAIN_AFTER_MS = 60 * 60_000;

export class TenantSignals {
  private readonly connected = new Set<string>();
  private readonly rejections = new Map<string, number>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly store: Store,
    private readonly clock: () => Date,
    private readonly enabled: boolean,
    private readonly warn: (err: unknown, msg: string) => void,
  ) {}

  authenticated(tenantId: string): void {
    this.rejections.delete(tenantId);
    if (!this.enabled || this.connected.has(tenantId)) return;
    this.connected.add(tenantId);
    this.track(async () => {
      const t = await this.store.getTenant(tenantId);
      if (!t) return;
      const now = this.clock().toISOString();
      await this.store.markTenant(tenantId, 'connected_at', now, undefined, {
        type: 'tenant.connected',
        resourceType: 'Tenant',
        resourceId: tenantId,
        data: { id: t.id, name: t.name },
      });
    }, tenantId);
  }

  rejected(tenantId: string, userAgent: string | undefined): void {
    if (!this.enabled) return;
    const n = (this.rejections.get(tenantId) ?? 0) + 1;
    if (this.rejections.size > 10_000 && !this.rejections.has(tenantId)) this.rejections.clear();
    this.rejections.set(tenantId, n);
    if (n !== REJECTION_STREAK) return;
    this.track(async () => {
      const t = await this.store.getTenant(tenantId);
      if (!t) return; // a URL for no tenant: nobody to tell
      const now = this.clock();
      await this.store.markTenant(
        tenantId,
        'credentials_rejected_at',
        now.toISOString(),
        new Date(now.getTime() - REJECTED_AGAIN_AFTER_MS).toISOString(),
        {
          type: 'tenant.credentials_rejected',
          resourceType: 'Tenant',
          resourceId: tenantId,
          data: {
            id: t.id,
            name: t.name,
            consecutiveRejections: n,
            ...(userAgent ? { userAgent: userAgent.slice(0, 200) } : {}),
          },
        },
      );
    });
  }

  /** Resolves when every signal already started has been written (graceful shutdown, tests). */
  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private track(fn: () => Promise<void>, retryKey?: string): void {
    const p = fn().catch((err) => {
      // Not lost for good: the next request tries again.
      if (retryKey) this.connected.delete(retryKey);
      this.warn(err, 'could not record a tenant event');
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
