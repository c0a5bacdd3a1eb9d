// A node:test reporter that scripts/test.mjs adds beside the spec reporter: it writes one JSON object (the
// run's totals and every skipped test with its reason) for test.mjs to print as the run's closing summary.
// Suites that need an absent service stand in one skipped test each (test/helpers/services.ts).
export default async function* summary(source) {
  const totals = {};
  const skipped = [];
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.skip !== undefined) {
      const reason = typeof event.data.skip === 'string' ? event.data.skip : '(no reason given)';
      skipped.push({ name: event.data.name, reason, suite: event.data.details?.type === 'suite' });
    }
    // The runner's own totals ("tests 812", "pass 800", …) come last, as top-level diagnostics.
    if (event.type === 'test:diagnostic' && event.data.nesting === 0) {
      const m = /^(tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(event.data.message);
      if (m) totals[m[1]] = Number(m[2]);
    }
  }
  yield JSON.stringify({ totals, skipped }) + '\n';
}
