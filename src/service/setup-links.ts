/**
 * Setup links (issue 15): what an operator sends a customer's IT admin instead of a Tenant URL and a Secret Token
 * by e-mail. A link is `<PUBLIC_URL>/setup#<secret>`: the secret sits in the URL fragment, which browsers never
 * send, so it never reaches a request line, a proxy log or this server's log. The page posts it once to bind
 * the link to that browser: the server stores the hash of a new session secret and sets it as an HttpOnly,
 * SameSite=Strict cookie. From then on the cookie alone opens the link's tenant, and any other browser that
 * opens the link is told it was already used.
 *
 * Secrets are `jsl_` + 32 random bytes (link) and 32 random bytes (session), stored only as SHA-256 hashes.
 */
import { randomBytes } from 'node:crypto';
import { ScimError } from '../scim/errors.js';
import type { SetupLinkRow } from '../store/setup-types.js';
import type { Actor, Store, TenantRow } from '../store/types.js';
import { newId } from '../store/sql/ids.js';
import { SERVER_ACTOR } from './tenants.js';
import { hashToken } from './tokens.js';

export const LINK_PREFIX = 'jsl_';
/** The longest a link may live: it hands out credentials, so days, not weeks. */
export const MAX_LINK_MS = 7 * 86_400_000;

export type LinkState = 'unused' | 'open' | 'expired' | 'revoked';

export interface IssuedLink extends SetupLinkRow {
  /** The URL to send to the IT admin: shown once. */
  url: string;
}

/** Why a link or a session cannot be used, for the clear page the browser gets instead. */
export type LinkRefusal = 'unknown' | 'expired' | 'revoked' | 'used';

export class LinkRefused extends Error {
  constructor(readonly why: LinkRefusal) {
    super(why);
    this.name = 'LinkRefused';
  }
}

export function linkState(l: SetupLinkRow, now: Date): LinkState {
  if (l.revokedAt !== null) return 'revoked';
  if (l.expiresAt <= now.toISOString()) return 'expired';
  return l.boundAt ? 'open' : 'unused';
}

export class SetupLinkService {
  constructor(
    private readonly store: Store,
    private readonly publicUrl: () => string,
    private readonly clock: () => Date,
    private readonly defaultLifetimeMs: number,
  ) {}

  private async tenant(idOrName: string): Promise<TenantRow> {
    const t = await this.store.getTenant(idOrName);
    if (!t) throw new ScimError(404, undefined, `no tenant with id or name '${idOrName}'`);
    return t;
  }

  linkUrl(secret: string): string {
    return `${this.publicUrl().replace(/\/+$/, '')}/setup#${secret}`;
  }

  async create(tenant: string, opts: { expiresInMs?: number; actor?: Actor } = {}): Promise<IssuedLink> {
    const ms = opts.expiresInMs ?? this.defaultLifetimeMs;
    if (!(ms > 0) || ms > MAX_LINK_MS)
      throw new ScimError(400, 'invalidValue', 'a setup link expires within 7 days (e.g. 24h, 3d)');
    const t = await this.tenant(tenant);
    const actor = opts.actor ?? SERVER_ACTOR;
    const secret = LINK_PREFIX + randomBytes(32).toString('base64url');
    const now = this.clock();
    const id = newId();
    const expiresAt = new Date(now.getTime() + ms).toISOString();
    const hint = secret.slice(0, LINK_PREFIX.length + 4) + '…';
    const row = await this.store.setup.createLink(
      {
        id,
        tenantId: t.id,
        hash: hashToken(secret),
        hint,
        createdBy: `${actor.via}:${actor.name}`,
        expiresAt,
      },
      now.toISOString(),
      {
        actor,
        action: 'setup_link.create',
        tenantId: t.id,
        tenantName: t.name,
        target: id,
        detail: `${hint} expires ${expiresAt}`,
      },
    );
    return { ...row, url: this.linkUrl(secret) };
  }

  async list(tenant: string): Promise<SetupLinkRow[]> {
    return this.store.setup.listLinks((await this.tenant(tenant)).id);
  }

  async revoke(tenant: string, id: string, opts: { actor?: Actor } = {}): Promise<void> {
    const t = await this.tenant(tenant);
    const ok = await this.store.setup.revokeLink(t.id, id, this.clock().toISOString(), {
      actor: opts.actor ?? SERVER_ACTOR,
      action: 'setup_link.revoke',
      tenantId: t.id,
      tenantName: t.name,
      target: id,
      detail: 'revoked',
    });
    if (ok) return;
    const exists = (await this.store.setup.listLinks(t.id)).some((l) => l.id === id);
    throw exists
      ? new ScimError(409, undefined, `setup link '${id}' is already revoked`)
      : new ScimError(404, undefined, `tenant '${t.name}' has no setup link '${id}'`);
  }

  /**
   * The browser posts the link's secret. The first browser binds it: a new session secret is returned for its
   * cookie. The browser that already holds the link's session (a reload) keeps it. Anyone else is refused.
   */
  async open(
    secret: string,
    sessionSecret: string | undefined,
  ): Promise<{ link: SetupLinkRow; session?: string }> {
    const link = secret.startsWith(LINK_PREFIX)
      ? await this.store.setup.findLinkByHash(hashToken(secret))
      : undefined;
    if (!link) throw new LinkRefused('unknown');
    const now = this.clock();
    const state = linkState(link, now);
    if (state === 'revoked' || state === 'expired') throw new LinkRefused(state);
    if (state === 'open') {
      const mine = sessionSecret
        ? await this.store.setup.findLinkBySession(hashToken(sessionSecret))
        : undefined;
      if (mine?.id === link.id) return { link };
      throw new LinkRefused('used');
    }
    const session = randomBytes(32).toString('base64url');
    if (!(await this.store.setup.bindLink(link.id, hashToken(session), now.toISOString())))
      throw new LinkRefused('used'); // another browser bound it a moment earlier
    return { link: { ...link, boundAt: now.toISOString() }, session };
  }

  /** The link a browser session holds, while it is still valid. */
  async session(sessionSecret: string | undefined): Promise<SetupLinkRow> {
    if (!sessionSecret) throw new LinkRefused('unknown');
    const link = await this.store.setup.findLinkBySession(hashToken(sessionSecret));
    if (!link) throw new LinkRefused('unknown');
    const state = linkState(link, this.clock());
    if (state === 'revoked' || state === 'expired') throw new LinkRefused(state);
    return link;
  }
}
