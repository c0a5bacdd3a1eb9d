/** The signed-in operator's own account: session times, change password, sign out everywhere. */
import { api, ApiError, type Session } from '../api.js';
import { errorBox, field, h, kv, when } from '../dom.js';
import { say } from '../state.js';

export function renderAccount(box: HTMLElement, s: Session, signedOutEverywhere: () => void): void {
  const current = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', {
    type: 'password',
    autocomplete: 'new-password',
    required: true,
    minlength: '12',
  });
  const problem = h('div');
  const form = h(
    'form',
    { class: 'stack', 'aria-labelledby': 'pw-title' },
    h('h2', { id: 'pw-title', text: 'Change password' }),
    problem,
    field('Current password', current),
    field(
      'New password',
      next,
      'At least 12 characters; a passphrase of a few words is fine. Your other sessions end.',
    ),
    h('button', { type: 'submit', class: 'primary', text: 'Change password' }),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      try {
        await api('POST', '/session/password', { currentPassword: current.value, newPassword: next.value });
        current.value = '';
        next.value = '';
        problem.replaceChildren();
        say('Password changed; your other sessions have ended.');
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 401))
          problem.replaceChildren(errorBox((e as Error).message));
      }
    })();
  });
  box.replaceChildren(
    h(
      'div',
      { class: 'card' },
      h('h1', { text: s.operator.name }),
      kv([
        ['Role', s.operator.role],
        ['Session ends', h('span', {}, when(s.expiresAt), ' at the latest')],
        ['Unless used before', when(s.idleExpiresAt)],
      ]),
      h('h2', { class: 'spaced', text: 'Sign out everywhere' }),
      h('p', {
        class: 'muted',
        text: 'Ends every session of your account, in every browser (also this one).',
      }),
      h('button', {
        type: 'button',
        class: 'danger',
        text: 'Sign out everywhere',
        onclick: () =>
          void (async () => {
            try {
              await api('POST', '/session/sign-out-everywhere');
              signedOutEverywhere();
            } catch (e) {
              if (!(e instanceof ApiError && e.status === 401)) say((e as Error).message, true);
            }
          })(),
      }),
    ),
    h('div', { class: 'card' }, form),
  );
}
