/** A tenant's Secret Tokens: issue, rotate, revoke. A token is shown once, in the panel above the tabs. */
import { api, ApiError, can, enc } from '../api.js';
import { badge, errorBox, h, loading, table, when, whenText } from '../dom.js';
import { loadTenants, say, state, type TenantSummary } from '../state.js';

interface TokenView {
  id: string;
  hint: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  state: 'active' | 'revoked' | 'expired';
  active: boolean;
}

const HEADERS = ['Token', 'Created', 'Last used', 'Status', 'Actions'];

export async function renderTokens(
  panel: HTMLElement,
  t: TenantSummary,
  rerender: () => void,
): Promise<void> {
  panel.replaceChildren(loading('Loading tokens…'));
  let tokens: TokenView[];
  try {
    tokens = (await api<{ tokens: TokenView[] }>('GET', `/tenants/${enc(t.id)}/tokens`)).tokens;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) panel.replaceChildren(errorBox((e as Error).message));
    return;
  }
  const failed = (e: unknown) => {
    if (!(e instanceof ApiError && e.status === 401)) say((e as Error).message, true);
  };
  const issue = async (path: string, body: unknown, reason: string) => {
    try {
      const issued = await api('POST', `/tenants/${enc(t.id)}${path}`, body);
      state.secret = { reason, name: issued.name, tenantUrl: issued.tenantUrl, token: issued.token };
      await loadTenants();
      rerender();
    } catch (e) {
      failed(e);
    }
  };
  const status = (k: TokenView) =>
    k.active
      ? badge(
          k.revokedAt
            ? `active until ${whenText(k.revokedAt)}`
            : k.expiresAt
              ? `active, expires ${whenText(k.expiresAt)}`
              : 'active',
          'ok',
        )
      : badge(
          k.state === 'expired' ? `expired ${whenText(k.expiresAt)}` : `revoked ${whenText(k.revokedAt)}`,
          'off',
        );
  const actions = (k: TokenView) =>
    k.active && can('operator')
      ? h(
          'div',
          { class: 'row' },
          h('button', {
            type: 'button',
            class: 'small',
            text: 'Rotate',
            'aria-label': `Rotate token ${k.hint}`,
            onclick: () => {
              if (
                confirm(
                  `Issue a new token and revoke ${k.hint} now? Entra ID keeps failing until it has the new token.`,
                )
              )
                void issue('/tokens/rotate', { revokeTokenId: k.id }, 'Rotated token');
            },
          }),
          h('button', {
            type: 'button',
            class: 'small danger',
            text: 'Revoke',
            'aria-label': `Revoke token ${k.hint}`,
            onclick: () => {
              if (!confirm(`Revoke ${k.hint}? Requests with it get 401 at once.`)) return;
              void (async () => {
                try {
                  await api('DELETE', `/tenants/${enc(t.id)}/tokens/${enc(k.id)}`);
                  await loadTenants();
                  rerender();
                  say(`Token ${k.hint} revoked.`);
                } catch (e) {
                  failed(e);
                }
              })();
            },
          }),
        )
      : '';
  panel.replaceChildren(
    can('operator')
      ? h(
          'div',
          { class: 'row' },
          h('button', {
            type: 'button',
            class: 'primary',
            text: 'Issue new token',
            onclick: () => void issue('/tokens', undefined, 'New token'),
          }),
        )
      : h('p', {
          class: 'notice warn',
          text: 'Your role (viewer) can see tokens but not issue, rotate or revoke them.',
        }),
    h('p', {
      class: 'hint',
      text: 'To rotate without downtime: issue a new token, paste it into Entra ID, then revoke the old one.',
    }),
    table(
      'tokens-table',
      'Secret Tokens',
      HEADERS,
      tokens.map((k) => [
        h('span', { class: 'mono', text: k.hint }),
        when(k.createdAt),
        when(k.lastUsedAt),
        status(k),
        actions(k),
      ]),
      'No tokens.',
    ),
  );
}
