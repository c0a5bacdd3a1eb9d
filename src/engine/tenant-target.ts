/**
 * A job that targets a tenant of this deployment by name (`target: { tenant: acme }`): the engine still speaks SCIM
 * over HTTP to the server, exactly as it would to any target, with a credential of its own. That credential is an
 * ordinary Secret Token of the tenant (stored hashed like every token, shown to nobody), labelled as the engine's in
 * `tokens list` and the console, with an expiry; the process that issued it keeps it in memory only, renews it
 * before it expires or when an operator revoked it, and revokes it when it stops.
 */
import { ScimError } from '../scim/errors.js';
import type { TenantService } from '../service/tenants.js';
import { tokenState } from '../service/tokens.js';
import type { Actor } from '../store/types.js';
import { ConfigError, type JobConfig } from './config.js';

export interface TenantTargetOptions {
  tenants: TenantService;
  /** The base the engine reaches this deployment's SCIM endpoints at (`http://127.0.0.1:8080`). */
  baseUrl: () => string | Promise<string>;
  /** Who holds the credentials: part of their label and of the audit records. */
  instance: string;
  /** Lifetime of an engine credential (default 7 days); it is renewed when less than a day is left. */
  lifetimeMs?: number;
  now?: () => Date;
}

interface Held {
  tenantId: string;
  tokenId: string;
  token: string;
  expiresAt: number;
}

const DAY = 86_400_000;

export class TenantTargets {
  private readonly held = new Map<string, Held>();
  private readonly pending = new Map<string, Promise<Held>>();
  private readonly actor: Actor;
  private readonly now: () => Date;
  private readonly lifetimeMs: number;

  constructor(private readonly opts: TenantTargetOptions) {
    this.actor = { via: 'server', name: `provisioning engine (${opts.instance})` };
    this.now = opts.now ?? (() => new Date());
    this.lifetimeMs = opts.lifetimeMs ?? 7 * DAY;
  }

  /**
   * The job's configuration with the tenant's Tenant URL filled in, and the token to use. Jobs with a tenantUrl are
   * returned as they are (their token comes from the job: resolveToken).
   */
  async resolve(config: JobConfig): Promise<{ config: JobConfig; token: string }> {
    const ref = config.target.tenant;
    if (!ref) throw new Error(`job '${config.name}' does not target a tenant of this deployment`);
    let tenant;
    try {
      tenant = await this.opts.tenants.getTenant(ref);
    } catch (e) {
      if (e instanceof ScimError && e.status === 404)
        throw new ConfigError('target.tenant', `there is no tenant '${ref}' in this deployment`);
      throw e;
    }
    const held = await this.credential(tenant.id);
    const base = (await this.opts.baseUrl()).replace(/\/+$/, '');
    return {
      config: { ...config, target: { ...config.target, tenantUrl: `${base}/scim/${tenant.id}/v2` } },
      token: held.token,
    };
  }

  private credential(tenantId: string): Promise<Held> {
    const inFlight = this.pending.get(tenantId);
    if (inFlight) return inFlight;
    const p = this.validOrNew(tenantId).finally(() => this.pending.delete(tenantId));
    this.pending.set(tenantId, p);
    return p;
  }

  private async validOrNew(tenantId: string): Promise<Held> {
    const now = this.now();
    const held = this.held.get(tenantId);
    if (held && held.expiresAt - now.getTime() > DAY) {
      // Still the tenant's valid token? An operator may have revoked it (or deleted the tenant).
      const row = (await this.opts.tenants.listTokens(tenantId)).find((t) => t.id === held.tokenId);
      if (row && tokenState(row, now) === 'active') return held;
    }
    if (held) await this.revoke(held);
    const issued = await this.opts.tenants.issueToken(tenantId, {
      expiresInMs: this.lifetimeMs,
      actor: this.actor,
      label: `provisioning engine (${this.opts.instance})`,
    });
    const fresh: Held = {
      tenantId,
      tokenId: issued.tokenId,
      token: issued.token,
      expiresAt: new Date(issued.expiresAt ?? now.getTime() + this.lifetimeMs).getTime(),
    };
    this.held.set(tenantId, fresh);
    return fresh;
  }

  private async revoke(h: Held): Promise<void> {
    this.held.delete(h.tenantId);
    try {
      await this.opts.tenants.revokeToken(h.tenantId, h.tokenId, { actor: this.actor });
    } catch {
      // Already revoked, expired or its tenant deleted: nothing left to do.
    }
  }

  /** Revokes every credential this process issued (a clean shutdown leaves no live engine token behind). */
  async close(): Promise<void> {
    await Promise.all([...this.held.values()].map((h) => this.revoke(h)));
  }
}
