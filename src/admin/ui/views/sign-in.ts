/** The sign-in page: the form alone, no navigation. */
import { api, ApiError, type Session } from '../api.js';
import { errorBox, field, h } from '../dom.js';

export function renderSignIn(
  box: HTMLElement,
  message: string,
  signedIn: (s: Session) => Promise<void>,
): void {
  const name = h('input', {
    type: 'text',
    autocomplete: 'username',
    required: true,
    spellcheck: 'false',
    autocapitalize: 'off',
  });
  const password = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const problem = h('div', {}, message ? errorBox(message) : null);
  const button = h('button', { type: 'submit', class: 'primary', text: 'Sign in' });
  const form = h(
    'form',
    { class: 'card signin stack', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title', text: 'Sign in' }),
    h('p', {
      class: 'muted',
      text: 'Operator console of this joyn-scim server. Accounts are made with joyn-scim operators create.',
    }),
    problem,
    field('Name', name),
    field('Password', password),
    button,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    button.disabled = true;
    void (async () => {
      try {
        const s = await api<Session>('POST', '/session', {
          name: name.value.trim(),
          password: password.value,
        });
        password.value = '';
        await signedIn(s);
      } catch (e) {
        problem.replaceChildren(
          errorBox(e instanceof ApiError ? e.message : `Could not sign in: ${(e as Error).message}`),
        );
        password.select();
      } finally {
        button.disabled = false;
      }
    })();
  });
  box.replaceChildren(form);
  name.focus();
}
