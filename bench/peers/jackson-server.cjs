// boxyhq/jackson's directory sync (npm @boxyhq/saml-jackson) behind bare node:http, the way its Next.js route
// /api/scim/v2.0/[...directory] hands requests to directorySyncController.requests.handle.
const http = require('node:http');
const { writeFileSync } = require('node:fs');
const jackson = require('@boxyhq/saml-jackson');

(async () => {
  const engine = process.env.ENGINE || 'mem';
  const db =
    engine === 'mem'
      ? { engine: 'mem' }
      : engine === 'sqlite'
        ? { engine: 'sql', type: 'sqlite', url: process.env.DB_FILE }
        : { engine: 'sql', type: 'postgres', url: process.env.DB_URL };
  const j = await jackson.controllers({
    externalUrl: 'http://127.0.0.1',
    samlPath: '/api/oauth/saml',
    samlAudience: 'https://saml.boxyhq.com',
    db,
    noAnalytics: true,
    logger: { info() {}, error: console.error, warn() {} },
  });
  const ds = j.directorySyncController;
  const { data: dir, error } = await ds.directories.create({
    tenant: 'bench',
    product: 'joyn',
    name: 'bench',
    type: 'azure-scim-v2',
  });
  if (error) throw new Error(JSON.stringify(error));
  writeFileSync(
    process.env.INFO_FILE,
    JSON.stringify({ id: dir.id, secret: dir.scim.secret, path: dir.scim.path }),
  );
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const url = new URL(req.url, 'http://x');
        const parts = url.pathname.split('/').filter(Boolean); // api scim v2.0 <dir> <Users|Groups> [id]
        const [, , , directoryId, path, resourceId] = parts;
        const auth = req.headers.authorization || '';
        const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
        const q = url.searchParams;
        const { status, data } = await ds.requests.handle({
          method: req.method,
          body,
          directoryId,
          resourceType: path === 'Users' ? 'users' : 'groups',
          resourceId,
          apiSecret: auth.startsWith('Bearer ') ? auth.slice(7) : null,
          query: {
            count: q.get('count') ? parseInt(q.get('count')) : undefined,
            startIndex: q.get('startIndex') ? parseInt(q.get('startIndex')) : undefined,
            filter: q.get('filter') ?? undefined,
          },
        });
        const text = JSON.stringify(data);
        res.writeHead(status, {
          'content-type': 'application/scim+json',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      } catch (e) {
        console.error(e);
        res.writeHead(500).end();
      }
    });
  });
  server.listen(Number(process.env.PORT), '127.0.0.1');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
