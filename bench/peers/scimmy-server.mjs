// SCIMMY 1.x with scimmy-routers (express) and an in-memory store: a Map by id, a Map by userName, so a lookup
// and a page cost what they cost in memory (egress returns the page and sets totalResults; SCIMMY slices no further).
import express from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';
import { randomUUID } from 'node:crypto';

const TOKEN = process.env.TOKEN;
const stores = { User: new Map(), Group: new Map() };
const byUserName = new Map();

function egressOf(type) {
  return (resource) => {
    const store = stores[type];
    if (resource.id) {
      const r = store.get(resource.id);
      if (!r) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
      return r;
    }
    const f = resource.filter;
    if (
      f &&
      f.length === 1 &&
      type === 'User' &&
      Object.keys(f[0]).length === 1 &&
      f[0].userName?.[0] === 'eq'
    ) {
      const r = byUserName.get(String(f[0].userName[1]).toLowerCase());
      return r ? [r] : [];
    }
    const all = [...store.values()];
    const matched = f ? f.match(all) : all;
    const { startIndex = 1, count = 20 } = resource.constraints ?? {};
    resource.constraints = { ...resource.constraints, totalResults: matched.length };
    return matched.slice(startIndex - 1, startIndex - 1 + count);
  };
}
function ingressOf(type) {
  return (resource, instance) => {
    const store = stores[type];
    const now = new Date().toISOString();
    if (resource.id) {
      const old = store.get(resource.id);
      if (!old) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
      const next = { ...instance, id: resource.id, meta: { ...old.meta, lastModified: now } };
      if (type === 'User') {
        byUserName.delete(old.userName.toLowerCase());
        byUserName.set(next.userName.toLowerCase(), next);
      }
      store.set(resource.id, next);
      return next;
    }
    if (type === 'User' && byUserName.has(instance.userName.toLowerCase()))
      throw new SCIMMY.Types.Error(409, 'uniqueness', 'userName is taken');
    const id = randomUUID();
    const r = { ...instance, id, meta: { created: now, lastModified: now } };
    store.set(id, r);
    if (type === 'User') byUserName.set(r.userName.toLowerCase(), r);
    return r;
  };
}
function degressOf(type) {
  return (resource) => {
    const r = stores[type].get(resource.id);
    if (!r) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
    stores[type].delete(resource.id);
    if (type === 'User') byUserName.delete(r.userName.toLowerCase());
  };
}
SCIMMY.Resources.declare(SCIMMY.Resources.User)
  .ingress(ingressOf('User'))
  .egress(egressOf('User'))
  .degress(degressOf('User'));
SCIMMY.Resources.declare(SCIMMY.Resources.Group)
  .ingress(ingressOf('Group'))
  .egress(egressOf('Group'))
  .degress(degressOf('Group'));

const app = express();
app.use(
  '/scim/v2',
  new SCIMMYRouters({
    type: 'bearer',
    handler: (req) => {
      if (req.header('Authorization') !== `Bearer ${TOKEN}`) throw new Error('Authorization not detected!');
      return 'bench';
    },
  }),
);
app.listen(Number(process.env.PORT), '127.0.0.1');
