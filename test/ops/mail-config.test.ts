/**
 * The deployment's one set of e-mail settings (README "Configuration": SMTP_*, NOTIFY_EMAIL_*), as config.ts reads
 * them, and a mail sent with them to a real local SMTP server (smtp-server) with authentication: every notice
 * (webhooks, engine) goes through smtpNotifier with exactly this configuration.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../../src/config.js';
import { smtpNotifier } from '../../src/engine/notify.js';
import { operatorNotifier } from '../../src/events/webhook-runtime.js';

test('SMTP_* and NOTIFY_EMAIL_*: defaults, what goes together, what is refused', () => {
  assert.equal(loadConfig({}).mail, undefined, 'no SMTP_HOST: nothing is mailed');
  assert.throws(() => loadConfig({ NOTIFY_EMAIL_TO: 'ops@example.com' }), /NOTIFY_EMAIL_TO needs SMTP_HOST/);

  // A server alone is enough (engine job files name their own recipients); the operators get nothing then.
  const alone = loadConfig({ SMTP_HOST: 'mail.example.com' });
  assert.deepEqual(alone.mail, {
    smtp: { host: 'mail.example.com', port: 587 },
    from: 'joyn-scim <joyn-scim@mail.example.com>',
    to: [],
  });
  assert.equal(operatorNotifier(alone), undefined, 'no operator addresses: webhook notices are only logged');

  const full = loadConfig({
    SMTP_HOST: 'mail.example.com',
    SMTP_PORT: '465',
    SMTP_SECURE: 'true',
    SMTP_USER: 'alerts',
    SMTP_PASSWORD: 'pw',
    NOTIFY_EMAIL_TO: ' ops@example.com, oncall@example.com ',
    NOTIFY_EMAIL_FROM: 'scim@example.com',
  });
  assert.deepEqual(full.mail, {
    smtp: { host: 'mail.example.com', port: 465, secure: true, user: 'alerts', password: 'pw' },
    from: 'scim@example.com',
    to: ['ops@example.com', 'oncall@example.com'],
  });
  assert.ok(operatorNotifier(full));
  assert.throws(() => loadConfig({ SMTP_HOST: 'h', SMTP_PORT: 'x' }), /SMTP_PORT/);
  assert.throws(() => loadConfig({ SMTP_HOST: 'h', SMTP_SECURE: 'maybe' }), /SMTP_SECURE/);
});

test('a notice sent with those settings reaches a real SMTP server, authenticated, from NOTIFY_EMAIL_FROM', async () => {
  const mails: { from: string; to: string[]; raw: string; user: string | undefined }[] = [];
  const server = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    onAuth(auth, _session, cb) {
      if (auth.username === 'alerts' && auth.password === 'pw-0123') cb(null, { user: auth.username });
      else cb(new Error('bad credentials'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: session.user as string | undefined,
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.server.address() as AddressInfo).port;
    const config = loadConfig({
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(port),
      SMTP_USER: 'alerts',
      SMTP_PASSWORD: 'pw-0123',
      NOTIFY_EMAIL_TO: 'ops@example.com',
      NOTIFY_EMAIL_FROM: 'scim@example.com',
    });
    await operatorNotifier(config)!.send('[joyn-scim] webhook endpoint disabled: x', 'body one');
    // An engine job's own recipients, through the same server and sender.
    await smtpNotifier(config.mail!, ['it-admins@example.com']).send(
      '[joyn-scim] job: quarantined',
      'body two',
    );
    assert.deepEqual(
      mails.map((m) => [m.from, m.to, m.user]),
      [
        ['scim@example.com', ['ops@example.com'], 'alerts'],
        ['scim@example.com', ['it-admins@example.com'], 'alerts'],
      ],
    );
    assert.match(mails[1]!.raw, /quarantined[\s\S]*body two/);

    // A wrong password is the SMTP server's refusal, not a silent success.
    const wrong = loadConfig({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(port), SMTP_USER: 'alerts' });
    await assert.rejects(smtpNotifier(wrong.mail!, ['x@example.com']).send('s', 't'));
    assert.equal(mails.length, 2);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
