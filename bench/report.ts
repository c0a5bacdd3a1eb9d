/**
 * The Markdown report: one section per store, delimited by markers, so a PostgreSQL run rewrites only the
 * PostgreSQL section and keeps SQLite's beside it (issue 4: "its table added beside SQLite's").
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { LoadResult } from './load.js';
import type { Machine } from './machine.js';

export interface SizeResult {
  size: number;
  loadSeconds: number;
  baseline: LoadResult;
  workloads: { name: string; result: LoadResult }[];
}

export interface Report {
  store: 'sqlite' | 'postgres';
  storeDetail: string;
  date: string;
  machine: Machine;
  concurrency: number;
  seconds: number;
  quick: boolean;
  sizes: SizeResult[];
  cycle: { usersPerSecond: number; seconds: number; users: number } | { notMeasured: string };
}

const LOOKUPS = ['lookup by userName', 'lookup by externalId'];

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–';
const ms = (n: number): string =>
  Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)) : '–';
const ratio = (n: number): string =>
  Number.isFinite(n) ? `${n >= 0.1 || n === 0 ? n.toFixed(2) : n.toPrecision(2)}×` : '–';
const sizeLabel = (n: number): string => n.toLocaleString('en-US');
/** Server CPU time per successful request (µs), from the child's process.cpuUsage() around the run. */
const cpuPer = (x: LoadResult): number =>
  x.serverCpuMicros !== undefined && x.requests > 0 ? x.serverCpuMicros / x.requests : NaN;
const cpu = (x: LoadResult): string => {
  const v = cpuPer(x);
  return Number.isFinite(v) ? (v < 100 ? v.toFixed(1) : fmt(v)) : '–';
};

/** Cost of a workload at one size relative to the baseline of that size (drift-corrected throughput). */
const relRps = (s: SizeResult, name: string): number => {
  const w = s.workloads.find((x) => x.name === name);
  return w ? w.result.rps / s.baseline.rps : NaN;
};

export function renderSection(r: Report): string {
  const title = r.store === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  const out: string[] = [];
  out.push(`## ${title}${r.quick ? ' (quick smoke run)' : ''}`, '');
  out.push(
    `Measured ${r.date} · store: ${r.storeDetail} · machine: ${r.machine.nproc} CPUs (${r.machine.cpuModel}), ` +
      `${r.machine.memoryGiB} GiB RAM, ${r.machine.platform} · Node ${r.machine.node} · ` +
      `${r.concurrency} concurrent keep-alive connections, ${r.seconds} s per workload, load generator and server in separate processes.`,
    '',
  );
  for (const s of r.sizes) {
    out.push(
      `### ${sizeLabel(s.size)} users`,
      '',
      `Bulk load to this size: ${fmt(s.loadSeconds, 1)} s. Ratios are to the bare Fastify route measured just before this size.`,
      '',
    );
    out.push(
      '| workload | req/s | × baseline req/s | p50 ms | p99 ms | p50 ÷ baseline p50 | server CPU µs/req | requests | errors |',
    );
    out.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
    const b = s.baseline;
    out.push(
      `| bare Fastify \`GET /ping\` (baseline) | ${fmt(b.rps)} | 1.00× | ${ms(b.p50)} | ${ms(b.p99)} | 1.00× | ${cpu(b)} | ${fmt(b.requests)} | ${b.errors} |`,
    );
    for (const w of s.workloads) {
      const x = w.result;
      out.push(
        `| ${w.name} | ${fmt(x.rps)} | ${ratio(x.rps / b.rps)} | ${ms(x.p50)} | ${ms(x.p99)} | ${ratio(x.p50 / b.p50)} | ${cpu(x)} | ${fmt(x.requests)} | ${x.errors} |`,
      );
    }
    out.push('');
    const errs = s.workloads.filter((w) => w.result.firstError);
    for (const w of errs)
      out.push(`- ${w.name}: first error: \`${w.result.firstError!.replace(/`/g, "'").slice(0, 200)}\``);
    if (errs.length) out.push('');
  }

  if (r.sizes.length >= 2) {
    const first = r.sizes[0]!;
    const last = r.sizes[r.sizes.length - 1]!;
    out.push(
      `### Scale: cost at ${sizeLabel(last.size)} vs ${sizeLabel(first.size)} users`,
      '',
      "The cost of a request is the server CPU time it takes (µs, from the server process's own accounting). Two",
      'other views: the throughput cost ratio = (req/s ÷ baseline req/s at the smallest size) ÷ (the same at the',
      "largest size), which also moves with the baseline's own run-to-run drift, and the ratio of p50 latencies.",
      '1.00× means the workload costs the same at both sizes; 2× means each request costs twice as much.',
      '',
    );
    out.push(
      `| workload | ${r.sizes.map((s) => `CPU µs at ${sizeLabel(s.size)}`).join(' | ')} | CPU cost ratio | throughput cost ratio | p50 ratio |`,
    );
    out.push(`|---|${r.sizes.map(() => '--:').join('|')}|--:|--:|--:|`);
    for (const w of first.workloads) {
      const rels = r.sizes.map((s) => relRps(s, w.name));
      const cpus = r.sizes.map((s) => {
        const x = s.workloads.find((y) => y.name === w.name);
        return x ? cpuPer(x.result) : NaN;
      });
      const lastW = last.workloads.find((x) => x.name === w.name);
      out.push(
        `| ${w.name} | ${cpus.map((c) => (Number.isFinite(c) ? (c < 100 ? c.toFixed(1) : fmt(c)) : '–')).join(' | ')} | ${ratio(cpus[cpus.length - 1]! / cpus[0]!)} | ${ratio(rels[0]! / rels[rels.length - 1]!)} | ${ratio((lastW?.result.p50 ?? NaN) / w.result.p50)} |`,
      );
    }
    out.push('');
  }

  out.push('### Targets (reported, not asserted)', '');
  const first = r.sizes[0];
  const last = r.sizes[r.sizes.length - 1];
  if (first && last) {
    for (const name of LOOKUPS) {
      if (r.sizes.length >= 2) {
        const fw = first.workloads.find((x) => x.name === name);
        const lw = last.workloads.find((x) => x.name === name);
        const c = lw && fw ? cpuPer(lw.result) / cpuPer(fw.result) : NaN;
        const viaRps = relRps(first, name) / relRps(last, name);
        out.push(
          `- ${name} at ${sizeLabel(last.size)} within 1.5× of its cost at ${sizeLabel(first.size)}: server CPU per lookup ${fw ? cpu(fw.result) : '–'} → ${lw ? cpu(lw.result) : '–'} µs = ${ratio(c)} — ${c <= 1.5 ? '**met**' : '**not met**'} (throughput cost ratio ${ratio(viaRps)}, p50 ratio ${ratio((lw?.result.p50 ?? NaN) / (fw?.result.p50 ?? NaN))})`,
        );
      }
      const worst = Math.min(...r.sizes.map((s) => relRps(s, name)));
      out.push(
        `- ${name} throughput at least half the bare route (worst size): ${ratio(worst)} — ${worst >= 0.5 ? '**met**' : '**not met**'}`,
      );
      const cpus = r.sizes.map((s) => {
        const w = s.workloads.find((x) => x.name === name);
        return w
          ? `${cpu(w.result)} µs (${ratio(cpuPer(w.result) / cpuPer(s.baseline))} the bare route's ${cpu(s.baseline)} µs) at ${sizeLabel(s.size)}`
          : '';
      });
      out.push(`  - server CPU per request: ${cpus.filter(Boolean).join('; ')}`);
    }
  }
  out.push('', '### Provisioning engine: initial cycle', '');
  if ('notMeasured' in r.cycle) out.push(`- **Not measured**: ${r.cycle.notMeasured}`);
  else
    out.push(
      `- \`benchEngine\` (bench/engine-cycle.ts, details in the Engine section): ${fmt(r.cycle.users)} users (plus groups and memberships) from a file source into a local server on SQLite: ` +
        `**${fmt(r.cycle.usersPerSecond, 1)} users/s** (${fmt(r.cycle.seconds, 1)} s for the whole cycle).`,
    );
  out.push('');
  return out.join('\n');
}

const HEADER = `# Benchmarks

Written by \`npm run bench\` (bench/run.ts); each store's section is replaced by the next run on that store.
Absolute numbers on a shared 2-core machine drift from run to run, so every figure is also given as a ratio
to a bare Fastify 5 route (\`GET /ping\` returning a small JSON) measured in the same run, on the same machine,
with the same load generator (DESIGN.md "Performance shape").

How: the real server (\`startServer\`, \`RATE_LIMIT_PER_MINUTE=0\`, \`LOG_LEVEL=silent\`) runs in a child process with one
tenant; users are bulk-loaded with \`SqlStore.bulkInsertUsers\` (not HTTP) and the tenant grows from one size to the next.
The load generator (bench/load.ts: keep-alive sockets, closed loop, fixed duration) runs in the parent process.
\`npm run bench -- --quick\` is a smoke run (1,000 and 10,000 users); \`--sizes\`, \`--seconds\`, \`--concurrency\`,
\`--cycle-users\` change the shape. With \`DATABASE_URL=postgres://…\` the bench creates a scratch database on that
server, measures PostgreSQL and drops the database afterwards.
`;

const markers = (store: string) => [`<!-- bench:${store}:start -->`, `<!-- bench:${store}:end -->`] as const;

/** Replaces (or appends) this store's section in the file, keeping everything else. */
export function writeSection(file: string, store: 'sqlite' | 'postgres', section: string): void {
  const [start, end] = markers(store);
  const block = `${start}\n${section}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else if (store === 'sqlite' && text.includes(markers('postgres')[0])) {
    // Keep SQLite first when PostgreSQL was measured before it.
    const k = text.indexOf(markers('postgres')[0]);
    text = `${text.slice(0, k)}${block}\n\n${text.slice(k)}`;
  } else text = `${text.replace(/\s*$/, '')}\n\n${block}\n`;
  writeFileSync(file, text);
}
