/**
 * What the setup page watches (issue 15): the milestones of a new connection and the recent failures, each with
 * what to change in the identity provider. Derived from the tenant's connection record (connection-state.ts) and
 * its activity log (every failed request is recorded there with the detail the client was sent).
 */
import type { ActivityEntry } from '../store/types.js';
import type { ConnectionView } from '../service/connection-state.js';

export interface Check {
  id: 'test-connection' | 'first-user' | 'first-group' | 'last-request';
  label: string;
  done: boolean;
  at: string | null;
  detail: string;
}

export interface Failure {
  at: string;
  status: number;
  request: string;
  /** What the server answered (the detail Entra shows in its provisioning logs). */
  detail: string;
  /** What to change, in the identity provider's words. */
  fix: string;
}

const minutesAgo = (iso: string, now: Date): string => {
  const m = Math.max(0, Math.floor((now.getTime() - Date.parse(iso)) / 60_000));
  return m === 0 ? 'less than a minute ago' : m === 1 ? '1 minute ago' : `${m} minutes ago`;
};

export function checks(c: ConnectionView, now: Date): Check[] {
  return [
    {
      id: 'test-connection',
      label: 'Test Connection received',
      done: c.testConnectionAt !== null,
      at: c.testConnectionAt,
      detail: c.testConnectionAt
        ? "Entra's Test Connection reached Joyn FSM with a valid credential."
        : 'Waiting: click Test Connection under Admin Credentials.',
    },
    {
      id: 'first-user',
      label: 'First user created',
      done: c.firstUserAt !== null,
      at: c.firstUserAt,
      detail: c.firstUserAt
        ? 'The identity provider created its first user in Joyn FSM.'
        : 'Waiting: assign users (Users and groups), set Provisioning Status to On and Save; the first cycle starts within minutes.',
    },
    {
      id: 'first-group',
      label: 'First group created',
      done: c.firstGroupAt !== null,
      at: c.firstGroupAt,
      detail: c.firstGroupAt
        ? 'The identity provider created its first group in Joyn FSM.'
        : 'Waiting: assign a group and keep "Provision Microsoft Entra ID Groups" enabled under Mappings.',
    },
    {
      id: 'last-request',
      label: c.lastRequestAt ? `Last request ${minutesAgo(c.lastRequestAt, now)}` : 'Last request: none yet',
      done: c.lastRequestAt !== null && c.state !== 'idle' && c.state !== 'unhealthy',
      at: c.lastRequestAt,
      detail: c.reason,
    },
  ];
}

/** What to change for one failed request, from its status and the detail the server sent. */
export function fixFor(status: number, detail: string): string {
  const m = /^(\S+) must be (a string|a boolean|an integer|a number|an xsd:dateTime string)/.exec(detail);
  if (m) {
    const attr = m[1]!.replace(/\[\d+\]/g, '');
    if (m[2] === 'a boolean')
      return `Mappings → the mapping whose target is "${attr}" sends something other than true/false: use Entra's default expression Switch([IsSoftDeleted], , "False", "True", "True", "False") for "active", or a Boolean source attribute.`;
    return `Mappings → the mapping whose target is "${attr}" sends the wrong type (${detail.split('; got ')[1] ?? 'another type'}): map a source attribute of the right type, or change the target's type under "Edit attribute list for customappsso" to ${m[2] === 'a string' ? 'String' : 'the type Joyn FSM expects'}.`;
  }
  if (/userName '.*' is already taken/.test(detail))
    return 'A user with this userName already exists in Joyn FSM but was not matched: under Mappings, keep "Match objects using this attribute" on userName (mapped from userPrincipalName), or remove the duplicate in Joyn FSM.';
  if (/group with displayName .* already exists/.test(detail))
    return 'A group with this name already exists in Joyn FSM but was not matched: match groups on displayName, or rename one of them.';
  if (/unknown attribute|no attribute|not an attribute/i.test(detail))
    return 'A mapping targets an attribute Joyn FSM does not know: compare the target names under Mappings with the attribute table on this page, and fix or delete that mapping.';
  if (/required/i.test(detail))
    return 'A required attribute is missing: make sure every user in scope has a value for the source attribute mapped to userName (userPrincipalName by default).';
  if (status === 401)
    return 'The credential Entra sends is not valid for this tenant (rotated, revoked or expired): enter the current Secret Token under Admin Credentials and click Test Connection.';
  if (status === 429)
    return "Requests were throttled: nothing to change in Entra, it retries; if it persists, ask Joyn FSM support to raise the tenant's limit.";
  if (status >= 500)
    return 'A server error on the Joyn FSM side: nothing to change in Entra; it retries in the next cycle. Joyn FSM support can see the cause.';
  return "Read the detail: it names the attribute and what Joyn FSM expects; the same text appears in Entra's provisioning logs.";
}

export function failures(entries: readonly ActivityEntry[], c: ConnectionView): Failure[] {
  const out: Failure[] = [];
  // Refused credentials are not in the activity log (nothing about the tenant is recorded for an unauthenticated
  // request): the connection record counts them.
  if (c.lastRejectedAt && (c.lastSuccessAt === null || c.lastRejectedAt > c.lastSuccessAt))
    out.push({
      at: c.lastRejectedAt,
      status: 401,
      request: `${c.rejectedRun} request${c.rejectedRun === 1 ? '' : 's'} in a row`,
      detail: 'the credential was refused',
      fix: fixFor(401, ''),
    });
  for (const e of entries) {
    if (e.status < 400 || e.status === 404) continue;
    out.push({
      at: e.at,
      status: e.status,
      request: `${e.method} ${e.path}`.slice(0, 200),
      detail: e.summary,
      fix: fixFor(e.status, e.summary),
    });
  }
  return out.slice(0, 10);
}
