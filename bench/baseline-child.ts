/**
 * The baseline: a bare Fastify 5 route on this machine, in its own process like the real server, so the
 * table can say what the SCIM server costs relative to the HTTP stack alone (DESIGN.md "Performance shape").
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/ping', async () => ({ ok: true, service: 'baseline', at: 'bench' }));
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.send?.({ type: 'ready', url });
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'cpu') process.send?.({ type: 'cpu', ...process.cpuUsage() });
  if (m?.type === 'exit') void app.close().then(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
