/**
 * The setup link in a real browser (Debian's Chromium driven by playwright-core) against a real server: an operator
 * creates a link; the customer's IT admin opens it in a fresh browser context, follows the Entra steps, copies the
 * Tenant URL and a Secret Token from the page; the test then plays Entra with exactly those values (Test Connection
 * by the checker's own code, a user, a group, a mapping that sends a number) and the page turns each check green
 * and explains the failure without a reload. An expired link gets a clear page.
 *
 * Screenshots go to $JOYN_SCREENSHOTS_DIR (docs/screens to refresh the README's), else to a temporary directory.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { testConnection } from '../../src/checker/connection.js';
import { createOperator } from '../admin/helpers.js';
import { describeIfAvailable, isExecutable } from '../helpers/services.js';
import { ADMIN, newUser, scim, startSetupServer, type SetupServer } from './helpers.js';

const CHROMIUM = process.env.JOYN_CHROMIUM_PATH ?? '/usr/bin/chromium';
const chromiumMissing = isExecutable(CHROMIUM)
  ? undefined
  : `Chromium is not installed (${CHROMIUM}; install Debian's chromium package: apt-get install chromium)`;
const SHOTS = process.env.JOYN_SCREENSHOTS_DIR ?? mkdtempSync(join(tmpdir(), 'joyn-setup-shots-'));

describeIfAvailable('setup link in Chromium', { unavailable: chromiumMissing }, () => {
  let s: SetupServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  // What went wrong in the browser during the current test (each test checks its own).
  const problems: string[] = [];
  let operatorPassword = '';

  const freshPage = async (): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1180, height: 900 } });
    contexts.push(context);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: s.base });
    const page = await context.newPage();
    // A CSP violation or a script error shows up here; the page must produce none.
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(e.message));
    return page;
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, name), fullPage: false });

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    s = await startSetupServer('sqlite');
    // Creating a setup link takes the operator role (docs/console.md "Roles").
    operatorPassword = await createOperator(s.base, ADMIN, 'opal', 'operator');
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
  beforeEach(() => {
    problems.length = 0;
  });
  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await s?.close();
  });

  test('the operator sees the connection state and creates a setup link in the console', async () => {
    const page = await freshPage();
    await page.goto(`${s.base}/admin`);
    await page.getByLabel('Name').fill('opal');
    await page.getByLabel('Password').fill(operatorPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#topnav').getByRole('button', { name: 'Sign out' }).waitFor();
    await page.goto(`${s.base}/admin#/tenants/${s.b.id}`);
    await page.locator('#connection-state').getByText('awaiting setup').waitFor();
    await page.getByRole('button', { name: 'Create setup link' }).click();
    const url = await page.locator('#setup-link-url').inputValue();
    assert.match(url, new RegExp(`^${s.base}/setup#jsl_`));
    await shot(page, 'setup-operator.png');
    // The link works (bound here by a plain client; the browser test below uses its own).
    const open = await fetch(`${s.base}/setup/api/open`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ link: url.split('#')[1] }),
    });
    assert.equal(open.status, 200);
    // Signed out, the console asks GET /admin/api/session, which answers 401 by design (no session cookie yet) and
    // then shows the sign-in form; Chromium logs that answer as a failed load. Nothing else may go wrong.
    assert.deepEqual(
      problems.filter((p) => !/status of 401 .*\/admin\/api\/session\)$/.test(p)),
      [],
    );
  });

  test('the IT admin connects Entra from the link and watches each check turn green without a reload', async () => {
    // The operator (or the Joyn FSM application) creates the link through the admin API.
    const created = await s.admin('POST', `/tenants/${s.a.id}/setup-links`, { expiresIn: '24h' });
    assert.equal(created.status, 201);
    const page = await freshPage();
    await page.goto(created.body.url);
    await page.getByRole('heading', { name: `Connect ${s.a.name} to Joyn FSM` }).waitFor();
    // The secret left the address bar; the page keeps working from its cookie.
    assert.equal(new URL(page.url()).hash, '');
    await page.evaluate('window.__sameDocument = true');

    // The Entra steps, with Entra's own names for fields and buttons.
    const steps = await page.locator('#steps-entra').innerText();
    for (const name of [
      'Provisioning Mode',
      'Automatic',
      'Admin Credentials',
      'Tenant URL',
      'Secret Token',
      'Test Connection',
      'Mappings',
      'Scope',
      'Provisioning Status',
      'Edit attribute list for customappsso',
    ])
      assert.ok(steps.includes(name), `the Entra steps name "${name}"`);
    const table = await page.locator('#attribute-table').innerText();
    assert.match(table, /urn:ietf:params:scim:schemas:extension:joynfsm:2\.0:User:xid/);
    assert.match(table, /urn:ietf:params:scim:schemas:extension:joynfsm:2\.0:User:joynFieldId/);
    assert.match(table, /userPrincipalName/);
    await page.locator('[data-check="test-connection"][data-done="false"]').waitFor();

    // Copy the Tenant URL and a new Secret Token with the page's own buttons.
    await page.getByRole('button', { name: 'Copy Tenant URL' }).click();
    const tenantUrl = await page.evaluate<string>('navigator.clipboard.readText()');
    await page.getByRole('button', { name: 'Create a Secret Token' }).click();
    await page.locator('#secret-token').waitFor();
    await page.getByRole('button', { name: 'Copy Secret Token' }).click();
    const token = await page.evaluate<string>('navigator.clipboard.readText()');
    assert.equal(tenantUrl, s.a.tenantUrl);
    assert.match(token, /^jsk_/);
    await shot(page, 'setup-credentials.png');

    // Entra's Test Connection with exactly those values.
    const tc = await testConnection(tenantUrl, token);
    assert.equal(tc.ok, true, tc.message);
    await page.locator('[data-check="test-connection"][data-done="true"]').waitFor({ timeout: 15_000 });

    // The first cycle: a user, then a group with that user.
    const u = await scim(tenantUrl, token, 'POST', '/Users', newUser('jdoe@contoso.example'));
    assert.equal(u.status, 201);
    await page.locator('[data-check="first-user"][data-done="true"]').waitFor({ timeout: 15_000 });
    const g = await scim(tenantUrl, token, 'POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Field technicians',
      members: [{ value: u.body.id }],
    });
    assert.equal(g.status, 201);
    await page.locator('[data-check="first-group"][data-done="true"]').waitFor({ timeout: 15_000 });
    await page.locator('[data-check="last-request"][data-done="true"]').waitFor({ timeout: 15_000 });
    await page.locator('#live').scrollIntoViewIfNeeded();
    await shot(page, 'setup-connected.png');

    // A mapping that sends a number where a string is required: the failure and what to change in Entra.
    const bad = await scim(tenantUrl, token, 'POST', '/Users', {
      ...newUser('n@contoso.example'),
      displayName: 42,
    });
    assert.equal(bad.status, 400);
    const failure = page.locator('#failures .failure').filter({ hasText: 'displayName must be a string' });
    await failure.waitFor({ timeout: 15_000 });
    assert.match(await failure.innerText(), /Mappings → the mapping whose target is "displayName"/);
    await page.locator('#live').scrollIntoViewIfNeeded();
    await shot(page, 'setup-failure.png');

    assert.equal(await page.evaluate('window.__sameDocument'), true, 'no reload happened');
    assert.deepEqual(problems, []);
  });

  test('an expired link gets a clear page', async () => {
    const created = await s.admin('POST', `/tenants/${s.a.id}/setup-links`, { expiresIn: '1h' });
    s.advance(2 * 3_600_000);
    const page = await freshPage();
    await page.goto(created.body.url);
    const refused = page.locator('#refused');
    await refused.waitFor();
    assert.match(await refused.innerText(), /cannot be used[\s\S]*expired/);
    assert.equal(await page.locator('#tenant-url').count(), 0);
    await shot(page, 'setup-expired.png');
    // The page learns that the link is refused from POST /setup/api/open's 403 {error: "link_refused"} (the designed
    // answer, src/setup/routes.ts), which Chromium logs as a failed load; nothing else may go wrong.
    assert.deepEqual(
      problems.filter((p) => !/status of 403 .*\/setup\/api\/open\)$/.test(p)),
      [],
    );
  });
});
