/** Runs one check and turns its outcome (or its exception) into a CheckResult. */
import { CheckContext, CheckFailure, CheckSkipped, type CheckDef } from './context.js';
import { TransportError } from './http.js';
import type { CheckResult, Exchange } from './types.js';

export async function runOne(def: CheckDef, ctx: CheckContext, signal?: AbortSignal): Promise<CheckResult> {
  const exchanges: Exchange[] = [];
  ctx.client.onExchange = (ex) => exchanges.push(ex);
  const base = { id: def.id, group: def.group, title: def.title, ...(def.spec ? { spec: def.spec } : {}) };
  const withEvidence = (r: CheckResult, ex?: Exchange): CheckResult => {
    const chosen = ex ?? exchanges[exchanges.length - 1];
    if (chosen) {
      r.request = chosen.request;
      if (chosen.response) r.response = chosen.response;
    }
    if (exchanges.length > 0) r.exchanges = exchanges;
    return r;
  };
  try {
    const explanation = await def.run(ctx);
    return withEvidence({ ...base, status: 'pass', explanation });
  } catch (e) {
    if (e instanceof CheckFailure)
      return withEvidence({ ...base, status: 'fail', explanation: e.explanation }, e.exchange);
    if (e instanceof CheckSkipped) return withEvidence({ ...base, status: 'skip', explanation: e.reason });
    if (e instanceof TransportError) {
      if (signal?.aborted)
        return withEvidence({ ...base, status: 'skip', explanation: 'interrupted' }, e.exchange);
      return withEvidence(
        {
          ...base,
          status: 'fail',
          explanation: `Entra would record a Timeout/WebExceptionProtocolError and retry in 40 minutes: no HTTP answer (${e.message})`,
        },
        e.exchange,
      );
    }
    const msg = e instanceof Error ? e.message : String(e);
    return withEvidence({
      ...base,
      status: 'fail',
      explanation: `the checker could not judge the answer: ${msg}`,
    });
  } finally {
    ctx.client.onExchange = undefined;
  }
}
