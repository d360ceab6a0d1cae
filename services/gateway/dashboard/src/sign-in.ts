import { el } from './dom';

/**
 * The first screen: what this page is, which credential to paste and where to get one. The
 * credential stays in this tab only.
 */
export function signInView(signIn: (secret: string) => Promise<string | undefined>, message?: string) {
  const secret = el('input', {
    type: 'password',
    name: 'credential',
    placeholder: 'allot_… or a user token',
    autocomplete: 'off',
    required: true,
  });
  const error = el('p', { class: 'message error', role: 'alert' }, message ?? '');
  const submit = async (event: Event) => {
    event.preventDefault();
    error.textContent = 'Checking…';
    error.textContent = (await signIn(secret.value)) ?? '';
  };
  return el(
    'div',
    { class: 'sign-in' },
    el('div', { class: 'brand big' }, el('span', { class: 'logo' }, 'A'), 'Allot'),
    el(
      'p',
      { class: 'lead' },
      'See what is left of every session for the next two weeks, book and hold seats, and watch it all change live.',
    ),
    el(
      'form',
      { class: 'card', onsubmit: submit },
      el('label', {}, 'API key or user token', secret),
      el('button', { type: 'submit', class: 'primary' }, 'Sign in'),
      error,
    ),
    el(
      'ul',
      { class: 'help' },
      el(
        'li',
        {},
        el('strong', {}, 'API key'),
        ' (starts with allot_): the whole tenant. ',
        el('code', {}, 'make dev'),
        ' prints the demo tenant’s key.',
      ),
      el(
        'li',
        {},
        el('strong', {}, 'User token'),
        ': one end user’s view, minted with ',
        el('code', {}, 'POST /v1/auth/user-tokens'),
        ' and an API key.',
      ),
      el('li', {}, 'The API itself is described at ', el('a', { href: '/docs' }, '/docs'), '.'),
    ),
  );
}
