/**
 * The provisioning engine (docs/engine.md): its jobs (stored in the deployment and run by the servers' scheduler,
 * or run by `joyn-scim sync run`), their state and progress, next cycle, the last cycles and their statistics, the
 * provisioning logs with filters, Entra's admin actions (pause, resume, run now, restart, allow deletes, provision
 * on demand) for the operator role, and enabling or disabling a stored job for the admin role (/admin/api/engine/…).
 */
import { api, ApiError, can, enc, query } from '../api.js';
import { badge, errorBox, field, h, kv, loading, nextId, row, select, table, when } from '../dom.js';
import { href } from '../router.js';
import { say } from '../state.js';

interface Cycle {
  id: string;
  kind: string;
  state: string;
  startedAt: string;
  endedAt: string | null;
  totalUnits: number;
  completedUnits: number;
  stats: Record<string, number>;
  error: string | null;
}

interface Job {
  name: string;
  state: 'notConfigured' | 'notRun' | 'active' | 'paused' | 'quarantined' | 'disabled';
  forceDeletes: boolean;
  pausedReason: string | null;
  disabledReason: string | null;
  quarantine: {
    reason: string;
    error: string;
    seriesBegan: string;
    nextAttempt: string | null;
    seriesCount: number;
  } | null;
  lastExecution: string | null;
  lastSuccessfulExecution: string | null;
  steadyStateLastAchievedTime: string | null;
  current: Cycle | null;
  last: Cycle | null;
  linked: { users: number; groups: number };
  escrows: number;
  nextCycle: { at: string | null; note: string } | null;
  notice: string | null;
  runningOn: { instance: string } | null;
  stored: {
    enabled: boolean;
    revision: number;
    target: string;
    source: string;
    problem: string | null;
  } | null;
  onDemand: boolean;
}

interface Log {
  changeId: string;
  cycleId: string;
  activityDateTime: string;
  action: string;
  status: string;
  errorCode?: string;
  reason?: string;
  recommendedAction?: string;
  steps: { name: string; status: string; description: string }[];
  modifiedProperties: { displayName: string; oldValue: string | null; newValue: string | null }[];
  sourceIdentity: { id: string; displayName?: string; identityType: string };
  targetIdentity?: { id: string; displayName?: string };
}

const STATE: Record<Job['state'], [string, 'ok' | 'warn' | 'bad' | 'off' | 'info']> = {
  notConfigured: ['never run', 'off'],
  notRun: ['not run', 'off'],
  active: ['active', 'ok'],
  paused: ['paused', 'warn'],
  quarantined: ['quarantined', 'bad'],
  disabled: ['disabled', 'bad'],
};

const failed = (e: unknown) => {
  if (!(e instanceof ApiError && e.status === 401)) say((e as Error).message, true);
};

function stats(c: Cycle): string {
  const s = c.stats;
  return `${s.created ?? 0} created, ${s.updated ?? 0} updated, ${s.disabled ?? 0} disabled, ${s.deleted ?? 0} deleted, ${s.staged ?? 0} staged, ${s.skipped ?? 0} skipped, ${s.failed ?? 0} failed`;
}

function progress(c: Cycle): HTMLElement {
  const pct = c.totalUnits ? Math.floor((c.completedUnits / c.totalUnits) * 100) : 0;
  return h(
    'div',
    { class: 'progress-wrap' },
    h('progress', {
      max: String(Math.max(1, c.totalUnits)),
      value: String(c.completedUnits),
      'aria-label': `Cycle progress: ${c.completedUnits} of ${c.totalUnits} objects`,
    }),
    h('span', { class: 'muted', text: ` ${pct} % (${c.completedUnits} of ${c.totalUnits} objects)` }),
  );
}

/** The quarantine in words (entra-provisioning-engine.md §9). */
function quarantineText(q: NonNullable<Job['quarantine']>): string {
  return `Quarantined (${q.reason}) since ${new Date(q.seriesBegan).toLocaleString()}: ${q.error}. ${
    q.nextAttempt
      ? `Next attempt ${new Date(q.nextAttempt).toLocaleString()} (retries after 6 h, 12 h, 24 h, then daily; disabled after four weeks).`
      : 'It waits for an admin: allow the deletes or restart.'
  }`;
}

function actions(job: Job, refresh: () => void): HTMLElement | null {
  if (!can('operator') || (job.state === 'notConfigured' && !job.stored)) return null;
  const post = (path: string, body?: unknown, done?: string) =>
    void api('POST', `/engine/jobs/${enc(job.name)}/${path}`, body)
      .then(() => {
        if (done) say(done);
        refresh();
      })
      .catch(failed);
  const reset = select(
    [
      ['default', 'Restart (keep links)'],
      ['full', 'Restart and re-match everything'],
    ],
    'default',
  );
  reset.setAttribute('aria-label', `Restart mode for ${job.name}`);
  return h(
    'div',
    { class: 'row job-actions' },
    job.state === 'paused' || job.state === 'quarantined' || job.state === 'disabled'
      ? h('button', {
          type: 'button',
          class: 'primary',
          text: 'Resume',
          'aria-label': `Resume ${job.name}`,
          onclick: () => post('resume', undefined, `Job ${job.name} resumed.`),
        })
      : h('button', {
          type: 'button',
          text: 'Pause',
          'aria-label': `Pause ${job.name}`,
          onclick: () => post('pause', undefined, `Job ${job.name} paused.`),
        }),
    job.stored && job.stored.enabled && job.state !== 'paused' && job.state !== 'disabled'
      ? h('button', {
          type: 'button',
          text: 'Run now',
          'aria-label': `Run ${job.name} now`,
          onclick: () => post('run', undefined, `Job ${job.name} runs its next cycle now.`),
        })
      : null,
    job.stored && can('admin')
      ? h('button', {
          type: 'button',
          text: job.stored.enabled ? 'Disable' : 'Enable',
          'aria-label': `${job.stored.enabled ? 'Disable' : 'Enable'} ${job.name}`,
          onclick: () => {
            const enabled = !job.stored!.enabled;
            if (
              enabled ||
              confirm(`Disable ${job.name}? No instance schedules it until it is enabled again.`)
            )
              void api('PATCH', `/engine/jobs/${enc(job.name)}`, { enabled })
                .then(() => {
                  say(`Job ${job.name} ${enabled ? 'enabled' : 'disabled'}.`);
                  refresh();
                })
                .catch(failed);
          },
        })
      : null,
    reset,
    h('button', {
      type: 'button',
      class: 'danger',
      text: 'Restart',
      'aria-label': `Restart ${job.name}`,
      onclick: () => {
        if (
          confirm(
            `Restart ${job.name}? The next cycle evaluates every object again${reset.value === 'full' ? ' and re-matches every user' : ''}.`,
          )
        )
          post('restart', { reset: reset.value }, `Job ${job.name} restarted.`);
      },
    }),
    h('button', {
      type: 'button',
      text: 'Allow deletes',
      'aria-label': `Allow the held-back deletes of ${job.name}`,
      onclick: () => {
        if (confirm(`Let the deletes and disables ${job.name} held back run in its next cycle?`))
          post('allow-deletes', undefined, 'Deletes allowed for the next cycle.');
      },
    }),
  );
}

function jobCard(job: Job, refresh: () => void, linked = true): HTMLElement {
  const [label, kind] = STATE[job.state];
  return h(
    'section',
    { class: 'card job', 'aria-labelledby': `job-${job.name}` },
    h(
      'h2',
      { id: `job-${job.name}` },
      linked ? h('a', { href: href('engine', job.name), text: job.name }) : job.name,
      ' ',
      badge(label, kind),
    ),
    job.quarantine ? h('p', { class: 'notice bad', text: quarantineText(job.quarantine) }) : null,
    job.pausedReason && job.state === 'paused'
      ? h('p', { class: 'notice warn', text: `Paused: ${job.pausedReason}` })
      : null,
    job.disabledReason && job.state === 'disabled'
      ? h('p', { class: 'notice bad', text: `Disabled: ${job.disabledReason}` })
      : null,
    job.stored?.problem
      ? h('p', { class: 'notice bad', text: `Cannot run here: ${job.stored.problem}` })
      : null,
    job.notice ? h('p', { class: 'notice warn', text: job.notice }) : null,
    kv([
      job.stored
        ? [
            'Stored job',
            `${job.stored.enabled ? 'enabled' : 'disabled'}, revision ${job.stored.revision}: ${job.stored.source} → ${job.stored.target}`,
          ]
        : ['Runs', 'from a job file (joyn-scim sync run --config)'],
      job.nextCycle
        ? [
            'Next cycle',
            job.nextCycle.at
              ? h('span', {}, when(job.nextCycle.at), ` (${job.nextCycle.note})`)
              : job.nextCycle.note,
          ]
        : null,
      job.runningOn ? ['Running on', job.runningOn.instance] : null,
      job.current
        ? [
            'Current cycle',
            h('div', {}, `${job.current.kind}, started `, when(job.current.startedAt), progress(job.current)),
          ]
        : null,
      job.last
        ? [
            'Last cycle',
            h(
              'span',
              {},
              `${job.last.kind} ${job.last.state}, `,
              when(job.last.endedAt ?? job.last.startedAt),
            ),
          ]
        : null,
      job.last ? ['Statistics', stats(job.last)] : null,
      job.last?.error ? ['Error', job.last.error] : null,
      ['Linked', `${job.linked.users} users, ${job.linked.groups} groups`],
      ['Escrowed', `${job.escrows} objects waiting for a retry`],
      ['Last success', when(job.lastSuccessfulExecution)],
      job.steadyStateLastAchievedTime ? ['Steady state', when(job.steadyStateLastAchievedTime)] : null,
      job.forceDeletes ? ['Deletes', 'allowed for the next cycle'] : null,
    ]),
    actions(job, refresh),
  );
}

export async function renderEngine(box: HTMLElement, name?: string): Promise<void> {
  box.replaceChildren(loading());
  if (name) return renderJob(box, name);
  const r = await api<{
    stateStored: boolean;
    jobFileProblems: { file: string; error: string }[];
    jobs: Job[];
  }>('GET', '/engine/jobs');
  box.replaceChildren(
    h(
      'div',
      { class: 'card' },
      h('h1', { text: `Provisioning engine (${r.jobs.length} job${r.jobs.length === 1 ? '' : 's'})` }),
      h('p', {
        class: 'muted',
        text: 'Jobs that read a directory (a file or LDAP) and provision it into a SCIM target, like Entra ID does. Stored jobs (joyn-scim sync jobs create) run inside the servers on their interval; a job run by joyn-scim sync run --config appears once it has run against this database; jobs listed in SYNC_JOB_FILES can also be provisioned on demand.',
      }),
      ...r.jobFileProblems.map((p) => errorBox(`${p.file}: ${p.error}`)),
      r.jobs.length
        ? null
        : h('p', {
            class: 'empty',
            text: 'No job yet: joyn-scim sync jobs create --from job.yaml (docs/engine.md).',
          }),
    ),
    ...r.jobs.map((j) => jobCard(j, () => void renderEngine(box))),
  );
}

const LOG_HEADERS = ['', 'Time', 'Action', 'Status', 'Source', 'Target', 'Reason'];

function logRows(l: Log): HTMLTableRowElement[] {
  const id = nextId('log');
  const toggle = h('button', {
    type: 'button',
    class: 'small expander',
    'aria-expanded': 'false',
    'aria-controls': id,
    'aria-label': `Steps for ${l.sourceIdentity.displayName ?? l.sourceIdentity.id}`,
    text: '▸',
  });
  const detail = h(
    'tr',
    { id, hidden: true, class: 'entry-detail-row' },
    h('td', { colspan: LOG_HEADERS.length, class: 'expansion' }),
  );
  toggle.addEventListener('click', () => {
    const open = detail.hidden;
    detail.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    toggle.textContent = open ? '▾' : '▸';
    if (open && !detail.firstElementChild!.childElementCount)
      detail.firstElementChild!.append(
        h(
          'ol',
          { class: 'steps' },
          l.steps.map((s) =>
            h(
              'li',
              {},
              badge(s.status, s.status === 'failure' ? 'bad' : s.status === 'success' ? 'ok' : 'off'),
              ` ${s.name}: ${s.description}`,
            ),
          ),
        ),
        l.modifiedProperties.length
          ? table(
              nextId('props'),
              'Modified properties',
              ['Property', 'Old value', 'New value'],
              l.modifiedProperties.map((m) => [
                m.displayName,
                m.oldValue ?? '(none)',
                m.newValue ?? '(none)',
              ]),
            )
          : '',
        l.recommendedAction
          ? h('p', { class: 'notice warn', text: `Recommended action: ${l.recommendedAction}` })
          : '',
        kv([
          ['Cycle', h('span', { class: 'mono', text: l.cycleId })],
          ['Change id', h('span', { class: 'mono', text: l.changeId })],
        ]),
      );
  });
  const statusKind =
    l.status === 'failure' ? 'bad' : l.status === 'success' ? 'ok' : l.status === 'warning' ? 'warn' : 'off';
  return [
    row(
      LOG_HEADERS,
      [
        toggle,
        when(l.activityDateTime),
        l.action,
        badge(l.status, statusKind),
        `${l.sourceIdentity.displayName ?? ''} (${l.sourceIdentity.id})`,
        l.targetIdentity ? (l.targetIdentity.displayName ?? l.targetIdentity.id) : '',
        l.errorCode ? `${l.errorCode}: ${l.reason ?? ''}` : (l.reason ?? ''),
      ],
      { class: `entry${l.status === 'failure' ? ' failed' : ''}` },
    ),
    detail,
  ];
}

async function renderJob(box: HTMLElement, name: string): Promise<void> {
  let r: { job: Job; cycles: Cycle[]; definition: { definition: unknown } | null };
  try {
    r = await api('GET', `/engine/jobs/${enc(name)}`);
  } catch (e) {
    box.replaceChildren(h('a', { href: '#/engine', text: '← All jobs' }), errorBox((e as Error).message));
    return;
  }
  const refresh = () => void renderJob(box, name);
  const onDemand = r.job.onDemand && can('operator') ? provisionForm(name, r.job.stored !== null) : null;
  box.replaceChildren(
    h('a', { href: '#/engine', class: 'back', text: '← All jobs' }),
    jobCard(r.job, refresh, false),
    ...(onDemand ? [onDemand] : []),
    ...(r.definition
      ? [
          h(
            'section',
            { class: 'card' },
            h('h2', { text: 'Definition' }),
            h('p', {
              class: 'muted',
              text: 'As stored: secrets appear only as variable names or encrypted. Change it with joyn-scim sync jobs update.',
            }),
            h('pre', {
              class: 'json',
              id: 'job-definition',
              text: JSON.stringify(r.definition.definition, null, 2),
            }),
          ),
        ]
      : []),
    h(
      'section',
      { class: 'card' },
      h('h2', { text: 'Last cycles' }),
      table(
        'cycles-table',
        'Cycles',
        ['Started', 'Kind', 'State', 'Progress', 'Statistics'],
        r.cycles.map((c) => [
          when(c.startedAt),
          c.kind,
          badge(
            c.state,
            c.state === 'failed'
              ? 'bad'
              : c.state === 'running'
                ? 'info'
                : c.state === 'succeeded'
                  ? 'ok'
                  : 'warn',
          ),
          `${c.completedUnits}/${c.totalUnits}`,
          stats(c),
        ]),
        'No cycle yet.',
      ),
    ),
    h('section', { class: 'card' }, h('h2', { text: 'Provisioning logs' }), logsView(name)),
  );
  // While a cycle runs, its progress follows.
  if (r.job.current)
    setTimeout(() => box.isConnected && location.hash === href('engine', name) && refresh(), 5000);
}

function logsView(name: string): HTMLElement {
  const status = select(
    [
      ['', 'Any status'],
      ['failure', 'failure'],
      ['success', 'success'],
      ['skipped', 'skipped'],
      ['warning', 'warning'],
    ],
    '',
  );
  const action = select(
    [
      ['', 'Any action'],
      ['create', 'create'],
      ['update', 'update'],
      ['disable', 'disable'],
      ['delete', 'delete'],
      ['stagedDelete', 'staged delete'],
      ['other', 'other'],
    ],
    '',
  );
  const search = h('input', { type: 'search', spellcheck: 'false', placeholder: 'name or id' });
  const wrap = table('logs-table', 'Provisioning logs', LOG_HEADERS, []);
  const tbody = wrap.querySelector('tbody')!;
  const more = h('button', { type: 'button', text: 'Load older records', hidden: true });
  let before: string | null = null;
  const load = async (reset: boolean) => {
    if (reset) before = null;
    try {
      const r = await api<{ logs: Log[]; nextBefore: string | null }>(
        'GET',
        `/engine/jobs/${enc(name)}/logs${query({ status: status.value, action: action.value, search: search.value.trim(), before, limit: 50 })}`,
      );
      if (reset) tbody.replaceChildren();
      for (const l of r.logs) tbody.append(...logRows(l));
      if (!tbody.children.length)
        tbody.append(
          h('tr', {}, h('td', { colspan: LOG_HEADERS.length, class: 'empty', text: 'No records match.' })),
        );
      before = r.nextBefore;
      more.hidden = !before;
    } catch (e) {
      failed(e);
    }
  };
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter the provisioning logs' },
    h(
      'div',
      { class: 'filter-grid' },
      field('Status', status),
      field('Action', action),
      field('Source or target', search),
    ),
    h('button', { type: 'submit', class: 'primary', text: 'Apply filters' }),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void load(true);
  });
  more.addEventListener('click', () => void load(false));
  void load(true);
  return h('div', {}, form, wrap, h('div', { class: 'pager' }, more));
}

/** The form of provision on demand; a stored job always uses its own credential (no token field). */
function provisionForm(name: string, stored: boolean): HTMLElement {
  const user = h('input', { type: 'text', required: true, spellcheck: 'false', autocomplete: 'off' });
  const token = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false' });
  const out = h('div', { 'aria-live': 'polite' });
  const run = h('button', { type: 'submit', class: 'primary', text: 'Provision on demand' });
  const form = h(
    'form',
    { class: 'stack' },
    h('h2', { text: 'Provision on demand' }),
    h('p', {
      class: 'muted',
      text: 'One user through the same pipeline as a cycle, reported as Entra’s five steps.',
    }),
    field('User (source id, userPrincipalName, mail or mailNickname)', user),
    stored
      ? null
      : field('Secret Token (optional)', token, 'Leave empty to use the job’s own token (target.tokenEnv).'),
    run,
    out,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    run.disabled = true;
    out.replaceChildren(loading('Provisioning…'));
    void api<{ report: string; log: Log | null }>('POST', `/engine/jobs/${enc(name)}/provision`, {
      user: user.value.trim(),
      ...(token.value ? { token: token.value } : {}),
    })
      .then((r) => out.replaceChildren(h('pre', { class: 'json', id: 'on-demand-report', text: r.report })))
      .catch((e: unknown) => {
        if (!(e instanceof ApiError && e.status === 401)) out.replaceChildren(errorBox((e as Error).message));
      })
      .finally(() => {
        run.disabled = false;
      });
  });
  return h('section', { class: 'card' }, form);
}
