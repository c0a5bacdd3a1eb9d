/**
 * The web console in a real browser (Debian's Chromium driven by playwright-core) against a real server:
 * sign in, create a tenant, see its token once, provision a user through SCIM with that token, find the
 * user in the users table and in the activity log, issue and revoke a token. Leaves a screenshot in
 * /tmp/console.png for a person to look at.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createOperator, startAdminServer, type AdminServer } from './helpers.js';
import { describeIfAvailable, isExecutable } from '../helpers/services.js';

// JOYN_CHROMIUM_PATH names another browser binary (or a missing one, to try the skip).
const CHROMIUM = process.env.JOYN_CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN = 'browser-admin-token-7f3c1e9a5b2d4086a1c3e5f7091b2d4f';
const chromiumMissing = isExecutable(CHROMIUM)
  ? undefined
  : `Chromium is not installed (${CHROMIUM}; install Debian's chromium package: apt-get install chromium)`;

async function scim(tenantUrl: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(tenantUrl + path, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/scim+json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await res.arrayBuffer();
  return { status: res.status };
}

/** Everything a person could read or copy from the page: visible text and every input's value. */
// Evaluated in the page (as strings: this project's TypeScript has no DOM types).
const pageSecrets = (page: Page) =>
  page.evaluate<string>(
    "[document.body.innerText, ...Array.from(document.querySelectorAll('input'), (i) => i.value)].join(' ')",
  );
const storedAnything = (page: Page) => page.evaluate<number>('sessionStorage.length + localStorage.length');

describeIfAvailable('web console in Chromium', { unavailable: chromiumMissing }, () => {
  let server: AdminServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    server = await startAdminServer('sqlite', ADMIN);
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
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    // A CSP violation or a script error shows up here; the console must produce none.
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('sign in, create a tenant, provision a user, see it, revoke a token', async () => {
    const password = await createOperator(server.base, ADMIN, 'ada', 'admin');
    await page.goto(`${server.base}/admin`);
    assert.equal(await page.locator('#topnav').isVisible(), false, 'no navigation on the sign-in page');

    // A wrong password is refused and the form stays.
    await page.getByLabel('Name').fill('ada');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not right' }).waitFor();

    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /Tenants \(0\)/ }).waitFor();
    assert.equal(await storedAnything(page), 0, 'nothing kept in the browser storage');

    // Create a tenant: the Tenant URL and the token are shown once, with a warning.
    await page.getByLabel('Tenant name').fill('Contoso');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    const secretPanel = page.locator('#secret-panel');
    await secretPanel.waitFor();
    assert.match(await secretPanel.innerText(), /Shown only once/);
    const token = await page.locator('#secret-token').inputValue();
    const tenantUrl = await page.locator('#secret-url').inputValue();
    assert.match(token, /^jsk_/);
    const tenant = (await server.built.tenants.listTenants()).find((t) => t.name === 'Contoso');
    assert.ok(tenant);
    assert.equal(tenantUrl, `${server.base}/scim/${tenant.id}/v2`);
    await page.screenshot({ path: '/tmp/console-token.png' });

    assert.ok((await pageSecrets(page)).includes(token), 'shown while the panel is open');
    // Dismissed, the token is gone from the page for good.
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await secretPanel.waitFor({ state: 'detached' });
    assert.ok(!(await pageSecrets(page)).includes(token));

    // Provision through SCIM with the token the console showed.
    for (const [n, display] of [
      ['jdoe', 'Jane Doe'],
      ['rroe', 'Richard Roe'],
      ['<b>x</b>', '<img src=x onerror=alert(1)>'],
    ] as const) {
      const r = await scim(tenantUrl, token, 'POST', '/Users', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: `${n}@contoso.example`,
        displayName: display,
        emails: [{ value: `${n}@contoso.example`, type: 'work', primary: true }],
      });
      assert.equal(r.status, 201);
    }
    const g = await scim(tenantUrl, token, 'POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Field technicians',
    });
    assert.equal(g.status, 201);

    // Users table, with a SCIM filter.
    await page.getByRole('tab', { name: 'Users' }).click();
    const users = page.locator('#users-table tbody tr');
    await page.locator('#users-table').getByText('jdoe@contoso.example', { exact: true }).first().waitFor();
    assert.equal(await users.count(), 3);
    await page.screenshot({ path: '/tmp/console-users.png' });
    // Markup in data is shown as text, never interpreted.
    await page.locator('#users-table').getByText('<img src=x onerror=alert(1)>', { exact: true }).waitFor();
    assert.equal(await page.locator('#users-table img').count(), 0);

    await page.getByLabel('SCIM filter').fill('userName sw "rroe"');
    await page.getByLabel('SCIM filter').press('Enter');
    await page.getByText('Showing 1–1 of 1').waitFor();
    assert.equal(await users.count(), 1);
    assert.match(await users.first().innerText(), /rroe@contoso\.example/);
    await page.getByLabel('SCIM filter').fill('emials eq "x"');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('alert').filter({ hasText: 'emials' }).waitFor();

    // Groups with member counts.
    await page.getByRole('tab', { name: 'Groups' }).click();
    await page.locator('#groups-table').getByText('Field technicians').waitFor();

    // Activity log: the user creation is there, newest first, with its status.
    await page.getByRole('tab', { name: 'Activity' }).click();
    const activity = page.locator('#activity-table tbody tr.entry');
    await page.locator('#activity-table').getByText('created user jdoe@contoso.example').waitFor();
    const rows = await activity.allInnerTexts();
    assert.match(rows[0]!, /created group Field technicians/);
    assert.match(rows.at(-1)!, /201/);
    assert.match(rows.at(-1)!, /created user jdoe@contoso\.example/);
    await page.screenshot({ path: '/tmp/console.png', fullPage: true });

    // Keyboard: arrow keys move between tabs.
    await page.getByRole('tab', { name: 'Activity' }).focus();
    await page.keyboard.press('ArrowLeft');
    await page.locator('#tab-groups[aria-selected="true"]').waitFor();
    await page.locator('#tab-groups:focus').waitFor();
    await page.locator('#groups-table').getByText('Field technicians').waitFor();

    // Tokens: issue a second one (shown once), then revoke the first; SCIM refuses it at once.
    await page.getByRole('tab', { name: 'Tokens' }).click();
    await page.getByRole('button', { name: 'Issue new token' }).click();
    await secretPanel.waitFor();
    const second = await page.locator('#secret-token').inputValue();
    assert.notEqual(second, token);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await secretPanel.waitFor({ state: 'detached' });
    await page.getByRole('tab', { name: 'Tokens' }).click();
    const firstHint = token.slice(0, 8) + '…';
    await page.getByRole('button', { name: `Revoke token ${firstHint}` }).click();
    await page.getByText(`Token ${firstHint} revoked.`).waitFor();
    assert.equal((await scim(tenantUrl, token, 'GET', '/Users')).status, 401);
    assert.equal((await scim(tenantUrl, second, 'GET', '/Users')).status, 200);
    const tokenRows = await page.locator('#tokens-table tbody tr').allInnerTexts();
    assert.equal(tokenRows.length, 2);
    assert.equal(tokenRows.filter((r) => /revoked/.test(r)).length, 1);
    assert.ok(!(await pageSecrets(page)).includes(second));

    // Test connection with the live token, through the same checker the engine uses.
    await page.getByRole('tab', { name: 'Test connection' }).click();
    await page.getByLabel('Secret Token').fill(second);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.locator('#test-result').filter({ hasText: 'Success' }).waitFor();

    // Health.
    await page.getByRole('link', { name: 'Health' }).click();
    await page.locator('#health-table').getByText('Contoso').waitFor();

    // Sign out ends the session: the page is the sign-in form again, and a reload stays there.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Password').waitFor();
    await page.reload();
    await page.getByLabel('Password').waitFor();

    assert.deepEqual(
      // The wrong admin token (401) and the bad filter (400) were answered on purpose; Chromium logs those.
      problems.filter((p) => !/^Failed to load resource: .* status of (400|401)\b/.test(p)),
      [],
      'no script errors or CSP violations',
    );
  });
});
