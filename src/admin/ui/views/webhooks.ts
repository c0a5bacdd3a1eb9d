/**
 * Webhooks: the endpoints that receive the directory events, their recent deliveries and failures, and redelivery.
 *
 * The webhook capability (issue 12: src/events, admin routes under /admin/api/webhooks…) is built separately from
 * the console. Until its routes are on this server this page says so; once they are, it shows what they answer,
 * and the full view (endpoints, deliveries, failures, redeliver for the operator role) is wired to their final
 * shapes here, in this file only.
 */
import { api, ApiError } from '../api.js';
import { errorBox, h, jsonBlock, loading } from '../dom.js';

export async function renderWebhooks(box: HTMLElement): Promise<void> {
  box.replaceChildren(loading());
  const card = (...content: (Node | string)[]) =>
    h('div', { class: 'card' }, h('h1', { text: 'Webhooks' }), ...content);
  try {
    const answer = await api<unknown>('GET', '/webhooks');
    box.replaceChildren(
      card(
        h('p', {
          class: 'muted',
          text: 'The webhook endpoints of this server, as its admin API returns them. Deliveries, failures and redelivery will be shown here too.',
        }),
        jsonBlock(answer, 'Webhook endpoints'),
      ),
    );
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      box.replaceChildren(
        card(
          h('p', {
            text: 'Webhooks are not available on this server yet. The directory events they will deliver are already recorded: see each tenant’s Events tab, or read them with the Events API (docs/events.md).',
          }),
        ),
      );
      return;
    }
    if (!(e instanceof ApiError && e.status === 401))
      box.replaceChildren(card(errorBox((e as Error).message)));
  }
}
