/** Test Connection: the same requests as Entra ID's, through the same checker as the engine and the CLI. */
import { api, ApiError, enc } from '../api.js';
import { badge, errorBox, field, h, loading } from '../dom.js';
import type { TenantSummary } from '../state.js';

interface CheckResult {
  status: 'pass' | 'fail' | 'skip' | string;
  title: string;
  explanation: string;
}

export function renderTestConnection(panel: HTMLElement, t: TenantSummary): void {
  const token = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
  const out = h('div', { 'aria-live': 'polite' });
  const run = h('button', { type: 'submit', class: 'primary', text: 'Test connection' });
  const form = h(
    'form',
    { class: 'stack' },
    h('p', {
      class: 'muted',
      text: 'Sends the same requests as Entra ID’s "Test Connection" to this tenant’s Tenant URL with the token you paste.',
    }),
    field('Secret Token', token, 'The token is sent once to this server and not stored.'),
    run,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    run.disabled = true;
    out.replaceChildren(loading('Testing…'));
    void (async () => {
      try {
        const r = await api<{ ok: boolean; message: string; results: CheckResult[] }>(
          'POST',
          `/tenants/${enc(t.id)}/test-connection`,
          { token: token.value },
        );
        out.replaceChildren(
          h(
            'div',
            { class: r.ok ? 'notice ok' : 'error-box', role: r.ok ? 'status' : 'alert', id: 'test-result' },
            h('strong', { text: r.ok ? 'Success. ' : 'Failed. ' }),
            r.message,
          ),
          h(
            'ul',
            { class: 'checks' },
            r.results.map((c) =>
              h(
                'li',
                {},
                badge(c.status, c.status === 'pass' ? 'ok' : c.status === 'fail' ? 'bad' : 'off'),
                ' ',
                c.title,
                h('div', { class: 'hint', text: c.explanation }),
              ),
            ),
          ),
        );
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401)) out.replaceChildren(errorBox((e as Error).message));
      } finally {
        run.disabled = false;
      }
    })();
  });
  panel.replaceChildren(form, out);
}
