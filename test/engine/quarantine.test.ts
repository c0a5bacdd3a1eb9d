import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { DAY, FakeClock, HOUR } from '../../src/engine/clock.js';
import { loadConfig } from '../../src/config.js';
import { smtpNotifier } from '../../src/engine/notify.js';
import { nextQuarantineAttempt } from '../../src/engine/quarantine.js';
import { FakeTarget } from './fake-target.js';
import { makeJob, smallDirectory } from './setup.js';

interface Mail {
  to: string[];
  raw: string;
}

/** A real SMTP server on a free port that keeps every message it receives. */
async function startSmtp(): Promise<{ port: number; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const subjectOf = (m: Mail): string => /^Subject: (.*)$/m.exec(m.raw)?.[1] ?? '';

describe('quarantine schedule', () => {
  test('retries after 6 h, 12 h and 24 h from the first failure, then daily', () => {
    const t0 = new Date('2025-03-01T00:00:00Z');
    const offsets = [0, 1, 2, 3, 4, 5].map(
      (n) => (nextQuarantineAttempt(t0, n).getTime() - t0.getTime()) / HOUR,
    );
    assert.deepEqual(offsets, [6, 12, 24, 48, 72, 96]);
  });
});

describe('quarantine and notifications with a fake clock and a real SMTP server', () => {
  let target: FakeTarget;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  before(async () => {
    target = await new FakeTarget().start();
    smtp = await startSmtp();
  });
  after(async () => {
    await target.close();
    await smtp.close();
  });

  const notifications = () => ({ to: ['admin@example.com'] });
  /** The deployment's mail settings as config.ts reads them from the environment, pointed at the test's server. */
  const notifier = (to: readonly string[]) =>
    smtpNotifier(
      loadConfig({
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String(smtp.port),
        NOTIFY_EMAIL_FROM: 'joyn-scim@example.com',
      }).mail!,
      to,
    );

  test('a revoked token quarantines the job; retries follow the schedule; disabled after four weeks', async () => {
    smtp.mails.length = 0;
    target.users.clear();
    target.forceStatus = 401;
    const clock = new FakeClock('2025-03-01T00:00:00Z');
    const t0 = clock.now().getTime();
    const base = await makeJob(
      smallDirectory(),
      { tenantUrl: target.url, token: target.token },
      { notifications: notifications() },
    );
    const runner = base.rebuild({ clock, notifier: notifier(base.config.notifications!.to) });
    try {
      assert.equal(await runner.runDue(), 'ran');
      let job = await runner.job();
      assert.equal(job.state, 'quarantined');
      assert.equal(job.status.quarantine?.reason, 'EncounteredQuarantineException');
      assert.equal(job.status.quarantine?.errorCode, 'Unauthorized');
      assert.equal(job.status.quarantine?.nextAttempt, new Date(t0 + 6 * HOUR).toISOString());
      // The cycle stopped at the first 401 instead of failing every object.
      assert.ok(target.calls.length <= base.config.target.concurrency * 2);
      assert.equal(smtp.mails.length, 1);
      assert.deepEqual(smtp.mails[0]!.to, ['admin@example.com']);
      assert.match(subjectOf(smtp.mails[0]!), /quarantined/);
      assert.match(smtp.mails[0]!.raw, /EncounteredQuarantineException/);
      assert.doesNotMatch(smtp.mails[0]!.raw, new RegExp(target.token));

      clock.advance(5 * HOUR);
      assert.equal(await runner.runDue(), 'notDue');
      const attempts: number[] = [];
      for (;;) {
        job = await runner.job();
        if (job.state !== 'quarantined') break;
        clock.set(job.status.quarantine!.nextAttempt!);
        assert.equal(await runner.runDue(), 'ran');
        attempts.push((clock.now().getTime() - t0) / HOUR);
      }
      assert.deepEqual(attempts.slice(0, 5), [6, 12, 24, 48, 72]);
      assert.equal(job.state, 'disabled');
      assert.ok(clock.now().getTime() - t0 > 28 * DAY);
      assert.ok(job.status.disabledReason);
      assert.equal(await runner.runDue(), 'disabled');
      // Same reason all along: still exactly one e-mail.
      assert.equal(smtp.mails.length, 1);
    } finally {
      target.forceStatus = undefined;
      await base.cleanup();
    }
  });

  test('a changed reason sends a second e-mail; a successful retry leaves quarantine', async () => {
    smtp.mails.length = 0;
    target.users.clear();
    const clock = new FakeClock('2025-04-01T00:00:00Z');
    const d = smallDirectory();
    const base = await makeJob(
      d,
      { tenantUrl: target.url, token: target.token },
      { notifications: notifications(), provisionGroups: false },
    );
    const runner = base.rebuild({
      clock,
      notifier: notifier(base.config.notifications!.to),
      thresholds: { base: 1, proportion: 0.4, total: 1000, absolute: 2000 },
    });
    try {
      assert.equal(await runner.runDue(), 'ran');
      assert.equal((await runner.job()).state, 'active');
      for (const u of d.users) u.department = 'Changed';
      await base.write(d);
      target.forceStatus = 401;
      clock.advance(40 * 60_000);
      assert.equal(await runner.runDue(), 'ran');
      assert.equal((await runner.job()).status.quarantine?.reason, 'EncounteredQuarantineException');
      assert.equal(smtp.mails.length, 1);

      // The token works again, but every update is rejected: now the escrow proportion threshold holds.
      target.forceStatus = undefined;
      target.failWhen = (c) => (c.method === 'PATCH' ? 400 : undefined);
      clock.advance(6 * HOUR);
      assert.equal(await runner.runDue(), 'ran');
      let job = await runner.job();
      assert.equal(job.state, 'quarantined');
      assert.equal(job.status.quarantine?.reason, 'EncounteredEscrowProportionThreshold');
      assert.equal(job.status.quarantine?.seriesCount, 1);
      assert.equal(smtp.mails.length, 2);
      assert.match(subjectOf(smtp.mails[1]!), /reason changed/);

      target.failWhen = undefined;
      clock.set(job.status.quarantine!.nextAttempt!);
      assert.equal(await runner.runDue(), 'ran');
      job = await runner.job();
      assert.equal(job.state, 'active');
      assert.equal(job.status.quarantine, undefined);
      assert.equal(
        [...target.users.values()].filter(
          (u) =>
            (u['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'] as Record<string, unknown>)
              ?.department === 'Changed',
        ).length,
        3,
      );
    } finally {
      target.forceStatus = undefined;
      target.failWhen = undefined;
      await base.cleanup();
    }
  });

  test('reaching the deletion threshold sends an e-mail and waits for the admin', async () => {
    smtp.mails.length = 0;
    target.users.clear();
    const clock = new FakeClock('2025-05-01T00:00:00Z');
    const d = smallDirectory();
    const base = await makeJob(
      d,
      { tenantUrl: target.url, token: target.token },
      { notifications: notifications(), deletionThreshold: 2, provisionGroups: false },
    );
    const runner = base.rebuild({ clock, notifier: notifier(base.config.notifications!.to) });
    try {
      await runner.runDue();
      d.assignments = [];
      await base.write(d);
      clock.advance(40 * 60_000);
      await runner.runDue();
      const job = await runner.job();
      assert.equal(job.status.quarantine?.reason, 'TooManyDeletes');
      assert.equal(smtp.mails.length, 1);
      assert.match(subjectOf(smtp.mails[0]!), /deletion threshold/);
      assert.match(smtp.mails[0]!.raw, /allow-deletes/);
      clock.advance(30 * DAY);
      assert.equal(await runner.runDue(), 'waitingForAdmin');
    } finally {
      await base.cleanup();
    }
  });

  test('the escrow threshold during the initial cycle prunes escrows and pauses the job (§1.4)', async () => {
    smtp.mails.length = 0;
    target.users.clear();
    target.failWhen = (c) => (c.method === 'POST' && c.path === '/Users' ? 400 : undefined);
    const clock = new FakeClock('2025-06-01T00:00:00Z');
    const base = await makeJob(
      smallDirectory(),
      { tenantUrl: target.url, token: target.token },
      { provisionGroups: false },
    );
    const runner = base.rebuild({
      clock,
      thresholds: { base: 2, proportion: 0.4, total: 1000, absolute: 2000 },
    });
    try {
      const out = await runner.runCycleNow();
      assert.equal(out.cycle.kind, 'initial');
      assert.equal(out.cycle.stats.failed, 3);
      assert.equal(out.escrowsPruned, true);
      assert.equal(out.quarantine, undefined);
      const job = await runner.job();
      assert.equal(job.state, 'paused');
      assert.equal(job.status.escrowsPruned, true);
      assert.equal((await base.state.loadEscrows('test-job')).size, 0);
      assert.equal(await runner.runDue(), 'paused');
    } finally {
      target.failWhen = undefined;
      await base.cleanup();
    }
  });
});
