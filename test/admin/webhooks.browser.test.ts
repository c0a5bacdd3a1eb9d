/**
 * The console's Webhooks page in a real browser (Debian's Chromium driven by playwright-core, headless) against the
 * real server with its delivery worker, a real store and a real local HTTP receiver:
 *
 * - an admin creates an endpoint and sees its signing secret once (the receiver verifies a delivery with exactly
 *   that secret); the endpoint's page lists its deliveries: one delivered (200), one the receiver refused (503 with
 *   Retry-After) with its attempts and next retry;
 * - an operator pings the endpoint (the receiver gets a signed webhook.ping) and redelivers an event, and has no
 *   button to change the endpoint;
 * - the admin rotates the secret (shown once, different), disables, enables and deletes the endpoint.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SIGNATURE_HEADER, verifyWebhook } from '../../src/events/signature.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { describeIfAvailable, isExecutable } from '../helpers/services.js';
import { createOperator, request } from './helpers.js';

const CHROMIUM = process.env.JOYN_CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN = 'webhooks-browser-admin-token-5e1f0a9c7b3d2e4f6a8b';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
// The endpoint's page is shown in docs/console.md "Webhooks".
// Screenshots go to $JOYN_SCREENSHOTS_DIR (docs/screens to refresh the docs' pictures), else to a temporary directory:
// a test run leaves the tracked pictures alone.
const SCREENS = `${process.env.JOYN_SCREENSHOTS_DIR ?? mkdtempSync(join(tmpdir(), 'joyn-console-shots-'))}/`;
const chromiumMissing = isExecutable(CHROMIUM)
  ? undefined
  : `Chromium is not installed (${CHROMIUM}; install Debian's chromium package: apt-get install chromium)`;

/** Everything a person could read or copy from the page: visible text and every input's value. */
const pageText = (page: Page) =>
  page.evaluate<string>(
    "[document.body.innerText, ...Array.from(document.querySelectorAll('input'), (i) => i.value)].join(' ')",
  );

describeIfAvailable('console Webhooks page in Chromium', { unavailable: chromiumMissing }, () => {
  let s: TestServer;
  let rx: Receiver;
  let browser: Browser;
  let adminPassword = '';
  let operatorPassword = '';
  const problems: string[] = [];

  before(async () => {
    s = await startTestServer({
      dialect: 'sqlite',
      env: { ADMIN_TOKEN: ADMIN, WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOKS_POLL_MS: '20' },
    });
    rx = await startReceiver();
    // The receiver refuses the one user the test wants retried, for an hour (docs/events.md "Retries").
    rx.answer = (r) =>
      r.raw.toString('utf8').includes('retry-me@')
        ? { status: 503, headers: { 'Retry-After': '3600' }, body: 'busy' }
        : { status: 200, body: 'ok' };
    adminPassword = await createOperator(s.baseUrl, ADMIN, 'ada', 'admin');
    operatorPassword = await createOperator(s.baseUrl, ADMIN, 'otto', 'operator');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
    await rx?.close();
  });

  async function signedIn(name: string, password: string, hash: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 850 } });
    const page = await context.newPage();
    // A CSP violation or a script error shows up here; the page must produce none.
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${s.baseUrl}/admin${hash}`);
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#topnav').getByRole('button', { name: 'Sign out' }).waitFor();
    return page;
  }
  const createUser = async (userName: string) => {
    const r = await request(`${s.tenantUrl}/Users`, 'POST', {
      body: { schemas: [USER], userName, active: true },
      headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/scim+json' },
    });
    assert.equal(r.status, 201);
    return r.body.id as string;
  };
  const deliveryRow = (page: Page, text: string) =>
    page.locator('#deliveries-table tbody tr').filter({ hasText: text });
  /** Clicks Refresh until the deliveries table shows `text` in a row that also holds `also`. */
  const refreshUntil = async (page: Page, text: string, also: string) => {
    const deadline = Date.now() + 20_000;
    while (!(await deliveryRow(page, text).filter({ hasText: also }).count())) {
      if (Date.now() > deadline) throw new Error(`no delivery row with ${text} and ${also}`);
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(150);
    }
    return deliveryRow(page, text).filter({ hasText: also });
  };

  test('admin creates (secret once), operator pings and redelivers, admin rotates, disables, deletes', async () => {
    const tenantName = (await s.server.tenants.getTenant(s.tenantId)).name;
    const admin = await signedIn('ada', adminPassword, '#/webhooks');
    await admin.locator('#webhooks-table').getByText('No webhook endpoints.').waitFor();

    // Create: the secret is shown once, and it is the one the deliveries are signed with.
    await admin.getByLabel('Endpoint URL').fill(rx.url);
    await admin.getByLabel('Tenant').selectOption({ label: tenantName });
    await admin.getByLabel('Event types').fill('user.created');
    await admin.getByLabel('Description').fill('dispatch board');
    await admin.getByRole('button', { name: 'Create endpoint' }).click();
    const secret = await admin.locator('#webhook-secret').inputValue();
    assert.match(secret, /^whsec_/);
    const listed = admin.locator('#webhooks-table tbody tr').filter({ hasText: rx.url });
    assert.match(
      await listed.innerText(),
      new RegExp(`${tenantName}[\\s\\S]*user\\.created[\\s\\S]*enabled`),
    );
    await admin.getByRole('button', { name: 'Done' }).click();
    assert.ok(!(await pageText(admin)).includes(secret), 'the secret is gone once dismissed');

    // Two events: one delivered, one the receiver refuses for an hour.
    await createUser('delivered@contoso.example');
    await rx.waitFor(1);
    const first = rx.received[0]!;
    assert.equal(first.body.type, 'user.created');
    assert.equal(
      verifyWebhook(first.raw, first.headers[SIGNATURE_HEADER.toLowerCase()], secret, {
        toleranceMs: 300_000,
      }).ok,
      true,
      'signed with the secret the console showed',
    );
    await createUser('retry-me@contoso.example');
    await rx.waitFor(2);

    // The endpoint's page: the deliveries with state, attempts, last answer and next retry.
    await listed.getByRole('link', { name: rx.url }).click();
    await admin.locator('#webhook-endpoint').getByText('dispatch board').waitFor();
    const retrying = await refreshUntil(admin, rx.received[1]!.body.id, 'retrying');
    const cells = await retrying.locator('td').allInnerTexts();
    assert.equal(cells[3], '1', 'one attempt');
    assert.match(cells[4]!, /503/);
    assert.match(cells[5]!, /\d{4}/, `the next retry is a time: ${cells[5]}`);
    const delivered = deliveryRow(admin, first.body.id);
    assert.match(await delivered.innerText(), /delivered[\s\S]*200/);
    mkdirSync(SCREENS, { recursive: true });
    await admin.screenshot({ path: `${SCREENS}webhooks-desktop.png`, fullPage: true });

    // The operator: ping and redeliver, nothing that changes the endpoint.
    const operator = await signedIn('otto', operatorPassword, '#/webhooks');
    await operator.getByRole('link', { name: rx.url }).click();
    await operator.getByRole('button', { name: 'Send a ping' }).waitFor();
    for (const name of ['Disable', 'Rotate secret', 'Delete'])
      assert.equal(await operator.getByRole('button', { name }).count(), 0, `no ${name} for an operator`);
    await operator.goto(`${s.baseUrl}/admin#/webhooks`);
    await operator.locator('#webhooks-table').getByText(rx.url).waitFor();
    assert.equal(await operator.getByRole('button', { name: 'Create endpoint' }).count(), 0);
    await operator.goBack();
    await operator.getByRole('button', { name: 'Send a ping' }).click();
    await operator
      .locator('#status')
      .getByText(/Ping delivered: the receiver answered 200/)
      .waitFor();
    const ping = rx.received.find((r) => r.body?.type === 'webhook.ping');
    assert.ok(ping, 'the receiver got the ping');
    assert.equal(
      verifyWebhook(ping.raw, ping.headers[SIGNATURE_HEADER.toLowerCase()], secret, { toleranceMs: 300_000 })
        .ok,
      true,
    );
    await deliveryRow(operator, 'webhook.ping').filter({ hasText: 'delivered' }).waitFor();
    const before = rx.received.length;
    await operator
      .getByRole('button', { name: `Redeliver user.created ${first.body.id}` })
      .first()
      .click();
    await operator.locator('#status').getByText('user.created queued for delivery again.').waitFor();
    await rx.waitFor(before + 1);
    assert.equal(rx.received[before]!.body.id, first.body.id, 'the same event, sent again');
    assert.equal(
      await deliveryRow(operator, first.body.id).count(),
      2,
      'the redelivery is a delivery of its own',
    );

    // The admin: rotate (a new secret, once), disable, enable, delete.
    await admin.reload();
    await admin.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = await admin.locator('#webhook-secret').inputValue();
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, secret);
    await admin.locator('#webhook-endpoint').getByText('Previous secret signs until').waitFor();
    await admin.getByRole('button', { name: 'Disable' }).click();
    await admin.locator('#webhook-endpoint').getByText('disabled: disabled by an operator').waitFor();
    assert.ok(!(await pageText(admin)).includes(rotated), 'the rotated secret is gone once the page changes');
    await admin.getByRole('button', { name: 'Enable' }).click();
    // Enabled again: the Disable button is back. The badge says "enabled" or, a moment later, "failing since": enabling
    // resumes the pending deliveries at once (docs/events.md "Retries"), and the receiver still refuses that one.
    await admin
      .getByRole('button', { name: 'Disable' })
      .waitFor()
      .catch(async (e: Error) => {
        const seen = await admin.locator('#status, #webhook-endpoint dl').allInnerTexts();
        throw new Error(`${e.message}\nthe page said: ${JSON.stringify(seen)}`);
      });
    assert.equal(
      await admin
        .locator('#webhook-endpoint')
        .getByText(/^disabled:/)
        .count(),
      0,
    );
    await admin.getByRole('button', { name: 'Delete' }).click();
    await admin.locator('#webhooks-table').getByText('No webhook endpoints.').waitFor();
    const left = await request(`${s.baseUrl}/admin/api/webhooks`, 'GET', {
      headers: { Authorization: `Bearer ${ADMIN}` },
    });
    assert.deepEqual(left.body.webhooks, [], 'deleted on the server too');

    assert.deepEqual(
      // Signed out, the console asks GET /admin/api/session, which answers 401 by design before the sign-in form.
      problems.filter((p) => !/status of 401 .*\/admin\/api\/session\)$/.test(p)),
      [],
    );
  });
});
