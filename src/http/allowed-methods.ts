/**
 * Which methods a path supports, from the routes as registered: a request with another method gets 405 and an
 * `Allow` header (RFC 9110 §15.5.6) instead of 404, on every endpoint (SCIM, discovery, health) at once.
 */
const ORDER = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export class AllowedMethods {
  private readonly routes: { pattern: RegExp; methods: Set<string> }[] = [];

  /** Records a route; `url` is Fastify's pattern (`/scim/:tenantId/v2/Users/:id`, `*` wildcards). */
  add(url: string, method: string | readonly string[]): void {
    const source = url
      .split('/')
      .map((seg) =>
        seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    // The router ignores case, duplicate and trailing slashes (app.ts routerOptions): so does the pattern.
    const pattern = new RegExp(`^${source.replace(/\/+$/, '')}/?$`, 'i');
    let route = this.routes.find((r) => r.pattern.source === pattern.source);
    if (!route) this.routes.push((route = { pattern, methods: new Set() }));
    for (const m of typeof method === 'string' ? [method] : method) route.methods.add(m.toUpperCase());
  }

  /** The methods some route serves for this path (HEAD, implied by GET, left out), in a stable order. */
  for(path: string): string[] {
    const p = path.replace(/\/{2,}/g, '/');
    const found = new Set<string>();
    for (const r of this.routes) if (r.pattern.test(p)) for (const m of r.methods) found.add(m);
    found.delete('HEAD');
    return [...found].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  }
}

const rank = (m: string) => (ORDER.includes(m) ? ORDER.indexOf(m) : ORDER.length);
