/** Operator accounts (admin role): create, change role, disable / enable, reset password, end sessions. */
import { api, ApiError, enc, session, type Role } from '../api.js';
import { badge, copyField, errorBox, field, h, loading, select, table, when } from '../dom.js';
import { say } from '../state.js';

interface OperatorView {
  id: string;
  name: string;
  role: Role;
  state: 'active' | 'waiting' | 'disabled' | 'locked';
  createdAt: string;
  failedAttempts: number;
  lastSignInAt: string | null;
}

const ROLES: readonly (readonly [Role, string])[] = [
  ['viewer', 'viewer: reads everything'],
  ['operator', 'operator: + tokens, Test Connection, engine, redelivery'],
  ['admin', 'admin: + tenants, operators, webhooks, API keys'],
];
const HEADERS = ['Name', 'Role', 'State', 'Last sign-in', 'Actions'];

export async function renderOperators(box: HTMLElement): Promise<void> {
  box.replaceChildren(loading());
  const { operators } = await api<{ operators: OperatorView[] }>('GET', '/operators');
  const shown = h('div');
  const me = session()?.operator.id;
  const failed = (e: unknown) => {
    if (!(e instanceof ApiError && e.status === 401)) say((e as Error).message, true);
  };
  /** A password is shown once, like a Secret Token, and gone when dismissed. */
  const showPassword = (name: string, password: string) => {
    shown.replaceChildren(
      h(
        'section',
        { class: 'card secret', id: 'password-panel', 'aria-labelledby': 'pw-shown' },
        h('h2', { id: 'pw-shown', text: `Password for "${name}"` }),
        h('p', {
          class: 'warning',
          text: 'Shown only once: hand it to the operator, who can change it after signing in.',
        }),
        copyField('Password', password, 'shown-password', (w) => say(`${w} copied to the clipboard.`)),
        h('button', {
          type: 'button',
          class: 'primary',
          text: 'Done',
          onclick: () => shown.replaceChildren(),
        }),
      ),
    );
    document.getElementById('shown-password')?.focus();
  };
  const reload = async () => {
    const keep = shown.firstChild;
    await renderOperators(box);
    if (keep) box.prepend(keep);
  };
  const rows = operators.map((o) => {
    const role = select(
      ROLES.map(([v]) => [v, v] as const),
      o.role,
    );
    role.setAttribute('aria-label', `Role of ${o.name}`);
    role.disabled = o.id === me;
    role.addEventListener(
      'change',
      () =>
        void api('PATCH', `/operators/${enc(o.id)}`, { role: role.value })
          .then(() => say(`${o.name} is now ${role.value}; their sessions ended.`))
          .then(reload, failed),
    );
    const actions = h(
      'div',
      { class: 'row' },
      o.id === me
        ? h('span', { class: 'muted', text: 'you' })
        : h('button', {
            type: 'button',
            class: o.state === 'active' || o.state === 'waiting' ? 'small danger' : 'small',
            text: o.state === 'active' || o.state === 'waiting' ? 'Disable' : 'Enable',
            'aria-label': `${o.state === 'active' || o.state === 'waiting' ? 'Disable' : 'Enable'} ${o.name}`,
            onclick: () =>
              void api('PATCH', `/operators/${enc(o.id)}`, {
                disabled: o.state === 'active' || o.state === 'waiting',
              }).then(reload, failed),
          }),
      h('button', {
        type: 'button',
        class: 'small',
        text: 'Reset password',
        'aria-label': `Reset the password of ${o.name}`,
        onclick: () => {
          if (!confirm(`Give ${o.name} a new password? Their sessions end.`)) return;
          void api<{ password: string }>('POST', `/operators/${enc(o.id)}/reset-password`, {})
            .then(async (r) => {
              await reload();
              showPassword(o.name, r.password);
            })
            .catch(failed);
        },
      }),
      h('button', {
        type: 'button',
        class: 'small',
        text: 'End sessions',
        'aria-label': `End every session of ${o.name}`,
        onclick: () =>
          void api<{ ended: number }>('POST', `/operators/${enc(o.id)}/sign-out`)
            .then((r) => say(`${r.ended} session${r.ended === 1 ? '' : 's'} of ${o.name} ended.`))
            .catch(failed),
      }),
    );
    const state =
      o.state === 'active'
        ? badge('active', 'ok')
        : o.state === 'waiting'
          ? badge(`waiting: ${o.failedAttempts} failed sign-ins`, 'warn')
          : badge(o.state, 'bad');
    return [h('span', { class: 'mono', text: o.name }), role, state, when(o.lastSignInAt), actions];
  });
  const name = h('input', { type: 'text', required: true, autocomplete: 'off', spellcheck: 'false' });
  const role = select(ROLES, 'viewer');
  const form = h(
    'form',
    { class: 'row', 'aria-labelledby': 'new-op' },
    h('div', { class: 'grow' }, field('Name', name, 'Letters, digits, . _ @ - (an e-mail address works).')),
    h('div', { class: 'grow' }, field('Role', role)),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary', text: 'Create operator' })),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void api<{ operator: OperatorView; password: string }>('POST', '/operators', {
      name: name.value.trim(),
      role: role.value,
    })
      .then(async (r) => {
        say(`Operator ${r.operator.name} created.`);
        await reload();
        showPassword(r.operator.name, r.password);
      })
      .catch((e: unknown) => {
        if (!(e instanceof ApiError && e.status === 401)) form.after(errorBox((e as Error).message));
      });
  });
  box.replaceChildren(
    shown,
    h(
      'div',
      { class: 'card' },
      h('h1', { text: `Operators (${operators.length})` }),
      h('p', {
        class: 'muted',
        text: 'Who signs in to this console. A change of role, a disable or a new password ends that operator’s sessions at once. Every change is in the audit log.',
      }),
      table('operators-table', 'Operators', HEADERS, rows),
    ),
    h('div', { class: 'card' }, h('h2', { id: 'new-op', text: 'New operator' }), form),
  );
}
