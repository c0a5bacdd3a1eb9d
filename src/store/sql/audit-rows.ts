/** Writing one audit record (AuditInput), in whatever transaction the caller holds. */
import type { Kysely } from 'kysely';
import type { AuditInput } from '../types.js';

export async function insertAudit(db: Kysely<any>, a: AuditInput, now: string): Promise<void> {
  await db
    .insertInto('audit')
    .values({
      at: now,
      tenant_id: a.tenantId,
      tenant_name: a.tenantName,
      via: a.actor.via,
      actor: a.actor.name,
      action: a.action,
      target: a.target,
      detail: a.detail,
    })
    .execute();
}
