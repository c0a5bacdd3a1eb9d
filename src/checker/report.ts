/** Renders a CheckReport: the console lines of `joyn-scim check` and JUnit XML for CI. */
import type { CheckReport, CheckResult, RecordedRequest, RecordedResponse } from './types.js';

const MARK = { pass: '✔', fail: '✘', skip: '-' } as const;

/** `N passed, M failed` (then `, K skipped` when some were skipped): the line CI greps for. */
export function summaryLine(r: Pick<CheckReport, 'passed' | 'failed' | 'skipped'>): string {
  return `${r.passed} passed, ${r.failed} failed${r.skipped > 0 ? `, ${r.skipped} skipped` : ''}`;
}

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

function bodyText(body: unknown): string {
  if (body === undefined) return '';
  return typeof body === 'string' ? body : JSON.stringify(body, null, 2);
}

export function formatRequest(req: RecordedRequest): string {
  const headers = Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`);
  return [
    `${req.method} ${req.url}`,
    ...headers,
    ...(req.body !== undefined ? ['', bodyText(req.body)] : []),
  ].join('\n');
}

export function formatResponse(res: RecordedResponse): string {
  const ct = res.headers['content-type'];
  return [
    `HTTP ${res.status}`,
    ...(ct ? [`content-type: ${ct}`] : []),
    ...(res.body !== undefined ? ['', bodyText(res.body)] : []),
  ].join('\n');
}

/** One check as console lines: mark, id and title; for failures the explanation and the evidence. */
export function formatResult(r: CheckResult): string {
  const head = `${MARK[r.status]} ${r.title}  [${r.id}]`;
  if (r.status === 'pass') return head;
  const lines = [head, indent(r.explanation, '    ')];
  if (r.status === 'fail') {
    // When the verdict is read from a GET, show the write that led to it first (e.g. the PATCH).
    const at = r.exchanges?.findIndex((e) => e.request === r.request) ?? -1;
    const cause = at > 0 ? r.exchanges![at - 1] : undefined;
    if (cause && cause.request.method !== 'GET') {
      lines.push(indent(`> ${formatRequest(cause.request).replace(/\n/g, '\n> ')}`, '    '));
      if (cause.response) lines.push(indent(`< HTTP ${cause.response.status}`, '    '));
    }
    if (r.request) lines.push(indent(`> ${formatRequest(r.request).replace(/\n/g, '\n> ')}`, '    '));
    if (r.response) lines.push(indent(`< ${formatResponse(r.response).replace(/\n/g, '\n< ')}`, '    '));
  }
  return lines.join('\n');
}

function xml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/** JUnit XML: one testsuite per check group, one testcase per check. */
export function toJUnit(report: CheckReport): string {
  const groups = [...new Set(report.results.map((r) => r.group))];
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites name="joyn-scim check" tests="${report.results.length}" failures="${report.failed}" skipped="${report.skipped}" timestamp="${xml(report.startedAt)}">`,
  );
  for (const g of groups) {
    const rs = report.results.filter((r) => r.group === g);
    const f = rs.filter((r) => r.status === 'fail').length;
    const s = rs.filter((r) => r.status === 'skip').length;
    out.push(`  <testsuite name="${xml(g)}" tests="${rs.length}" failures="${f}" skipped="${s}">`);
    for (const r of rs) {
      const open = `    <testcase classname="joyn-scim.check.${xml(g)}" name="${xml(`${r.id}: ${r.title}`)}"`;
      if (r.status === 'pass') out.push(`${open}/>`);
      else if (r.status === 'skip') out.push(`${open}><skipped message="${xml(r.explanation)}"/></testcase>`);
      else {
        const evidence = [
          r.request ? formatRequest(r.request) : '',
          r.response ? formatResponse(r.response) : '',
        ]
          .filter(Boolean)
          .join('\n\n');
        out.push(`${open}><failure message="${xml(r.explanation)}">${xml(evidence)}</failure></testcase>`);
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
