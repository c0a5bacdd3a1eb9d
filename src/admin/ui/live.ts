/**
 * Server-sent event streams the current page has open (live activity). Leaving the page closes them: the router
 * calls closeStreams() before it renders the next one.
 */
const open = new Set<EventSource>();

export function openStream(
  url: string,
  onEvent: (type: string, data: string) => void,
  onState: (live: boolean) => void,
): EventSource {
  const es = new EventSource(url);
  open.add(es);
  es.addEventListener('open', () => onState(true));
  es.addEventListener('error', () => onState(es.readyState === EventSource.OPEN));
  es.addEventListener('activity', (e) => onEvent('activity', (e as MessageEvent<string>).data));
  es.addEventListener('end', () => {
    es.close();
    open.delete(es);
    onState(false);
  });
  return es;
}

export function closeStream(es: EventSource | undefined): void {
  if (!es) return;
  es.close();
  open.delete(es);
}

export function closeStreams(): void {
  for (const es of open) es.close();
  open.clear();
}
