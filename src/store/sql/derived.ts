/** Column values derived from a resource's data on every write (the indexed copies of JSON values). */
import { JOYN_USER, type ResourceData } from '../../scim/types.js';

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export function userColumns(data: ResourceData) {
  const userName = str(data.userName) ?? '';
  const ext = data[JOYN_USER];
  const xid = ext && typeof ext === 'object' && !Array.isArray(ext) ? str(ext.xid) : null;
  return {
    user_name: userName,
    user_name_lc: userName.toLowerCase(),
    external_id: str(data.externalId),
    display_name_lc: str(data.displayName)?.toLowerCase() ?? null,
    active: typeof data.active === 'boolean' ? data.active : null,
    xid,
  };
}

export function groupColumns(data: ResourceData) {
  return {
    display_name_lc: (str(data.displayName) ?? '').toLowerCase(),
    external_id: str(data.externalId),
  };
}

/** Rows of user_values: every email (type, value) lower-cased, for index seeks on emails[type eq "work"].value. */
export function userValueRows(
  data: ResourceData,
): { attr: string; ord: number; type_lc: string | null; value_lc: string }[] {
  const out: { attr: string; ord: number; type_lc: string | null; value_lc: string }[] = [];
  const emails = data.emails;
  if (Array.isArray(emails)) {
    emails.forEach((e, i) => {
      if (e && typeof e === 'object' && !Array.isArray(e) && typeof e.value === 'string') {
        out.push({
          attr: 'emails',
          ord: i,
          type_lc: typeof e.type === 'string' ? e.type.toLowerCase() : null,
          value_lc: e.value.toLowerCase(),
        });
      }
    });
  }
  return out;
}
