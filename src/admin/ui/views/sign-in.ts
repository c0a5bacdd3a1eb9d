/** The sign-in page: the form alone, no navigation. */
import { ApiError } from '../api.js';
import { errorBox, field, h } from '../dom.js';

export function renderSignIn(
  box: HTMLElement,
  message: string,
  submit: (token: string) => Promise<void>,
): void {
  const input = h('input', {
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    spellcheck: 'false',
  });
  const problem = h('div', {}, message ? errorBox(message) : null);
  const button = h('button', { type: 'submit', class: 'primary', text: 'Sign in' });
  const form = h(
    'form',
    { class: 'card signin stack', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title', text: 'Sign in' }),
    h('p', {
      class: 'muted',
      text: 'Paste the ADMIN_TOKEN this server was started with. It is kept in this browser tab only.',
    }),
    problem,
    field('Admin token', input),
    button,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    button.disabled = true;
    submit(input.value.trim())
      .catch((e: unknown) => {
        if (!(e instanceof ApiError && e.status === 401))
          problem.replaceChildren(errorBox((e as Error).message));
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  box.replaceChildren(form);
  input.focus();
}
