/**
 * DOM helpers. Data only ever reaches the page through textContent, value or text nodes (never parsed as markup), so a
 * userName like `<img onerror=…>` is shown as text, and the strict Content-Security-Policy has nothing to forbid.
 */

type Child = Node | string | number | null | undefined | false | Child[];
type Props = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k === 'class') el.className = String(v);
    else if (k === 'value') (el as unknown as HTMLInputElement).value = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let uid = 0;
export const nextId = (prefix: string): string => `${prefix}-${++uid}`;

export function field(labelText: string, input: HTMLElement, hint?: string): HTMLElement {
  input.id ||= nextId('f');
  const parts: Node[] = [h('label', { for: input.id, text: labelText }), input];
  if (hint) {
    const hid = nextId('h');
    input.setAttribute('aria-describedby', hid);
    parts.push(h('p', { class: 'hint', id: hid, text: hint }));
  }
  return h('div', { class: 'field' }, parts);
}

export function select(options: readonly (readonly [string, string])[], value: string): HTMLSelectElement {
  const s = h('select');
  for (const [v, label] of options) s.append(h('option', { value: v, text: label, selected: v === value }));
  return s;
}

const longFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short',
});

/** A time with its timezone ("5 Jan 2026, 10:04:31 GMT+1"), the ISO value in the title and datetime. */
export function when(iso: string | null | undefined, never = 'never'): HTMLElement {
  if (!iso) return h('span', { class: 'muted', text: never });
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', { text: iso });
  return h('time', { datetime: iso, title: iso, text: longFormat.format(d) });
}

export const whenText = (iso: string | null | undefined): string => {
  if (!iso) return 'never';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : longFormat.format(d);
};

/** "3 min ago", for recency at a glance; the exact time is beside it. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (!Number.isFinite(s)) return '';
  if (s < 60) return `${Math.max(0, s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

export function badge(text: string, kind: 'ok' | 'warn' | 'bad' | 'off' | 'info'): HTMLElement {
  return h('span', { class: `badge ${kind}`, text });
}

export function statusBadge(code: number): HTMLElement {
  return badge(String(code), code >= 500 ? 'bad' : code >= 400 ? 'warn' : 'ok');
}

export function errorBox(msg: string): HTMLElement {
  return h('div', { class: 'error-box', role: 'alert', text: msg });
}

export function loading(what = 'Loading…'): HTMLElement {
  return h('p', { class: 'muted', text: what });
}

/**
 * A table that becomes a list of cards on a narrow screen (styles.css): every cell carries its column's name in
 * data-label, which the card layout shows in front of the value.
 */
export function table(
  id: string,
  caption: string,
  headers: readonly string[],
  rows: readonly (readonly Child[] | HTMLTableRowElement)[],
  empty = 'Nothing matches.',
): HTMLElement {
  const body = h('tbody');
  for (const r of rows) body.append(r instanceof HTMLTableRowElement ? r : row(headers, r));
  if (!rows.length)
    body.append(
      h('tr', { class: 'empty-row' }, h('td', { colspan: headers.length, class: 'empty', text: empty })),
    );
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id, class: 'cards' },
      h('caption', { class: 'visually-hidden', text: caption }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((c) => h('th', { scope: 'col', text: c })),
        ),
      ),
      body,
    ),
  );
}

/** One row whose cells are labelled with `headers` (for the card layout). */
export function row(
  headers: readonly string[],
  cells: readonly Child[],
  props: Props = {},
): HTMLTableRowElement {
  const tr = h('tr', props);
  cells.forEach((c, i) => {
    const td = c instanceof HTMLTableCellElement ? c : h('td', {}, c);
    td.dataset.label = headers[i] ?? '';
    tr.append(td);
  });
  return tr;
}

export function kv(pairs: readonly (readonly [string, Child] | null)[]): HTMLElement {
  const dl = h('dl', { class: 'kv' });
  for (const p of pairs) if (p) dl.append(h('dt', { text: p[0] }), h('dd', {}, p[1]));
  return dl;
}

export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // A plain-HTTP page has no clipboard API: fall back to copying a selection.
    const ta = h('textarea', { 'aria-hidden': 'true', class: 'offscreen' });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    document.execCommand('copy');
    ta.remove();
  }
}

export function copyField(
  labelText: string,
  value: string,
  id: string,
  onCopied: (what: string) => void,
): HTMLElement {
  const input = h('input', { type: 'text', readonly: true, value, id, spellcheck: 'false' });
  input.addEventListener('focus', () => input.select());
  const btn = h('button', {
    type: 'button',
    text: 'Copy',
    'aria-label': `Copy ${labelText}`,
    onclick: () => void copyText(value).then(() => onCopied(labelText)),
  });
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id, text: labelText }),
    h('div', { class: 'copy-row' }, input, btn),
  );
}

/** JSON shown as text, indented (a resource as the identity provider sees it). */
export function jsonBlock(value: unknown, label: string): HTMLElement {
  return h('pre', {
    class: 'json',
    tabindex: '0',
    'aria-label': label,
    text: JSON.stringify(value, null, 2),
  });
}
