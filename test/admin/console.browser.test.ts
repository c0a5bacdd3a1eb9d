/**
 * The operator console in a real browser (Debian's Chromium driven by playwright-core, headless) against a real
 * server and store, at a desktop size (1366×850) and a phone size (390×844): sign in; create a tenant; issue a
 * token; provision a user over SCIM with it; find the user and open its page; see the create in the activity; a
 * failing create says which user and why (live, without a reload); revoke the token and see the next request's 401
 * arrive; a viewer cannot revoke; a cross-site form post is refused (CSRF); no page scrolls sideways on the phone.
 * Screenshots of the main pages go to docs/screens/ (shown in docs/console.md).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { describeIfAvailable, isExecutable } from '../helpers/services.js';
import { createOperator, request, runEngineJob, startAdminServer, type AdminServer } from './helpers.js';

// JOYN_CHROMIUM_PATH names another browser binary (or a missing one, to try the skip).
const CHROMIUM = process.env.JOYN_CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN = 'browser-admin-token-7f3c1e9a5b2d4086a1c3e5f7091b2d4f';
// Screenshots go to $JOYN_SCREENSHOTS_DIR (docs/screens to refresh the docs' pictures), else to a temporary directory:
// a test run leaves the tracked pictures alone.
const SCREENS = `${process.env.JOYN_SCREENSHOTS_DIR ?? mkdtempSync(join(tmpdir(), 'joyn-console-shots-'))}/`;
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const JOYN = 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User';
const chromiumMissing = isExecutable(CHROMIUM)
  ? undefined
  : `Chromium is not installed (${CHROMIUM}; install Debian's chromium package: apt-get install chromium)`;

const SIZES = {
  desktop: { width: 1366, height: 850 },
  phone: { width: 390, height: 844 },
} as const;
type Size = keyof typeof SIZES;

async function scim(tenantUrl: string, token: string, method: string, path: string, body?: unknown) {
  return request(tenantUrl + path, method, {
    ...(body === undefined ? {} : { body }),
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
  });
}

/** Everything a person could read or copy from the page: visible text and every input's value. */
// Evaluated in the page (as strings: this project's server-side TypeScript has no DOM types).
const pageText = (page: Page) =>
  page.evaluate<string>(
    "[document.body.innerText, ...Array.from(document.querySelectorAll('input'), (i) => i.value)].join(' ')",
  );

/** The page is no wider than the screen: nothing scrolls sideways. */
async function noSidewaysScroll(page: Page, where: string): Promise<void> {
  const [scroll, width] = await page.evaluate<[number, number]>(
    '[document.documentElement.scrollWidth, window.innerWidth]',
  );
  assert.ok(scroll <= width, `${where}: the page is ${scroll} px wide on a ${width} px screen`);
}

describeIfAvailable('operator console in Chromium', { unavailable: chromiumMissing }, () => {
  let server: AdminServer;
  let browser: Browser;
  let attacker: Server;
  let attackerUrl = '';
  let adminPassword = '';
  let viewerPassword = '';
  let job: Awaited<ReturnType<typeof runEngineJob>> | undefined;
  const problems: string[] = [];

  before(async () => {
    mkdirSync(SCREENS, { recursive: true });
    server = await startAdminServer('sqlite', ADMIN);
    adminPassword = await createOperator(server.base, ADMIN, 'ada', 'admin');
    viewerPassword = await createOperator(server.base, ADMIN, 'vic', 'viewer');
    // A job that ran, so the engine page has something to show.
    const jobTenant = await server.built.tenants.createTenant('Engine target');
    job = await runEngineJob(server, jobTenant);
    // Another origin on the same host (same site, another port): the browser sends the SameSite=Strict cookie along
    // with its form post, so only the CSRF check stands between it and the admin API.
    attacker = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(
        `<!doctype html><form method="POST" action="${server.base}/admin/api/tenants" enctype="text/plain">` +
          `<input name='{"name":"Evil Corp","x":"' value='"}'></form><script>document.forms[0].submit()</script>`,
      );
    });
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
    const a = attacker.address();
    attackerUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/`;
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
    await new Promise((r) => attacker?.close(r));
    await job?.close();
    await server?.close();
  });

  async function newPage(size: Size): Promise<Page> {
    const context = await browser.newContext({ viewport: SIZES[size], timezoneId: 'Europe/Berlin' });
    const page = await context.newPage();
    // A CSP violation or a script error shows up here; the console must produce none.
    page.on('console', (m) => {
      // The forged form post's answer is a page of its own, for which Chromium asks the server for /favicon.ico.
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico'))
        problems.push(`${size}: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(`${size}: ${e.message}`));
    page.on('dialog', (d) => void d.accept());
    return page;
  }

  async function signIn(page: Page, name: string, password: string): Promise<void> {
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#topnav').getByRole('button', { name: 'Sign out' }).waitFor();
  }

  const shot = (page: Page, name: string, size: Size, fullPage = false) =>
    page.screenshot({ path: `${SCREENS}${name}-${size}.png`, fullPage });

  for (const size of Object.keys(SIZES) as Size[])
    test(`the support question answered, at ${SIZES[size].width}×${SIZES[size].height}`, async () => {
      const page = await newPage(size);
      const tenantName = `Contoso ${size}`;
      await page.goto(`${server.base}/admin`);
      await page.getByLabel('Password').waitFor();
      assert.equal(await page.locator('#topnav').isVisible(), false, 'no navigation on the sign-in page');
      await noSidewaysScroll(page, 'sign-in');
      await shot(page, 'sign-in', size);

      // A wrong password is refused and the form stays; the right one opens the console.
      await page.getByLabel('Name').fill('ada');
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'not right' }).waitFor();
      await signIn(page, 'ada', adminPassword);
      assert.equal(
        await page.evaluate<number>('sessionStorage.length + localStorage.length'),
        0,
        'nothing in the browser storage',
      );

      // Create a tenant: its Tenant URL and first token are shown once.
      await page.getByLabel('Tenant name').fill(tenantName);
      await page.getByRole('button', { name: 'Create tenant' }).click();
      await page.locator('#secret-panel').waitFor();
      const tenantUrl = await page.locator('#secret-url').inputValue();
      const tenant = (await server.built.tenants.listTenants()).find((t) => t.name === tenantName)!;
      assert.equal(tenantUrl, `${server.base}/scim/${tenant.id}/v2`);
      await page.getByRole('button', { name: 'I have copied it' }).click();
      await page.locator('#secret-panel').waitFor({ state: 'detached' });
      await noSidewaysScroll(page, 'tenant overview');

      // Issue a token: shown once, gone when dismissed.
      await page.getByRole('tab', { name: 'Tokens' }).click();
      await page.getByRole('button', { name: 'Issue new token' }).click();
      await page.locator('#secret-panel').waitFor();
      const token = await page.locator('#secret-token').inputValue();
      assert.match(token, /^jsk_/);
      await page.getByRole('button', { name: 'I have copied it' }).click();
      await page.locator('#secret-panel').waitFor({ state: 'detached' });
      assert.ok(!(await pageText(page)).includes(token), 'the token is gone from the page');

      // Provision a user over SCIM with it; find it with a SCIM filter and open its page.
      const created = await scim(tenantUrl, token, 'POST', '/Users', {
        schemas: [USER],
        userName: 'jdoe@contoso.example',
        externalId: 'E-1001',
        displayName: 'Jane Doe',
        emails: [{ value: 'jdoe@contoso.example', type: 'work', primary: true }],
      });
      assert.equal(created.status, 201);
      await page.getByRole('tab', { name: 'Users' }).click();
      await page.getByLabel('SCIM filter').fill('userName eq "jdoe@contoso.example"');
      await page.getByLabel('SCIM filter').press('Enter');
      await page.getByText('Showing 1–1 of 1').waitFor();
      await noSidewaysScroll(page, 'users');
      await page.locator('#users-table').getByRole('link', { name: 'jdoe@contoso.example' }).click();
      await page.getByRole('heading', { name: 'jdoe@contoso.example' }).waitFor();
      await page.locator('#user-activity-table').getByText('created user jdoe@contoso.example').waitFor();
      await page.locator('#user-events-table').getByText('user.created').waitFor();
      assert.match(await page.locator('pre.json').innerText(), /"externalId": "E-1001"/);
      await noSidewaysScroll(page, 'user page');
      await shot(page, 'user', size, true);

      // The activity: the create is there; a failing create arrives live and says whom and why.
      await page.getByRole('tab', { name: 'Activity' }).click();
      const activity = page.locator('#activity-table');
      await activity.locator('tr.entry').filter({ hasText: 'created user jdoe@contoso.example' }).waitFor();
      await page.locator('.live-state').getByText('live').waitFor();
      const failing = await scim(tenantUrl, token, 'POST', '/Users', {
        schemas: [USER, JOYN],
        userName: 'tech7@contoso.example',
        externalId: 'E-1007',
        [JOYN]: { xid: 7 },
      });
      assert.equal(failing.status, 400);
      const failed = activity.locator('tr.entry').filter({ hasText: 'tech7@contoso.example' });
      await failed.waitFor();
      assert.match(await failed.innerText(), /400/);
      assert.match(await failed.innerText(), /xid must be a string/);
      // The keyboard opens an entry: whom, the failing attribute, scimType, the client.
      await failed.getByRole('button', { name: /Details of 400 create tech7/ }).focus();
      await page.keyboard.press('Enter');
      const details = activity.locator('.entry-details').first();
      await details.waitFor();
      const text = await details.innerText();
      assert.match(text, /Failing attribute\s+urn:ietf:params:scim:schemas:extension:joynfsm:2\.0:User:xid/);
      assert.match(text, /scimType invalidValue/);
      assert.match(text, /externalId\s+E-1007/);
      assert.match(text, /CET|GMT\+1|CEST|GMT\+2/, 'times carry their timezone');
      await noSidewaysScroll(page, 'activity');
      await shot(page, 'activity', size, size === 'phone');

      // Revoke the token; the next SCIM request's 401 shows up in the activity, live.
      await page.getByRole('tab', { name: 'Tokens' }).click();
      await page.getByRole('button', { name: `Revoke token ${token.slice(0, 8)}…` }).click();
      await page.getByText(`Token ${token.slice(0, 8)}… revoked.`).waitFor();
      await page.getByRole('tab', { name: 'Activity' }).click();
      await page.locator('.live-state').getByText('live').waitFor();
      assert.equal((await scim(tenantUrl, token, 'GET', '/Users')).status, 401);
      const refused = page
        .locator('#activity-table tr.entry')
        .filter({ hasText: 'Refused: the Secret Token is wrong, revoked or expired' });
      await refused.waitFor();
      assert.match(await refused.innerText(), /401/);

      // Health: the 401 streak in words; charts that fit the screen.
      await page.getByRole('tab', { name: 'Health' }).click();
      await page
        .locator('#signals')
        .getByText(/refused with 401/)
        .waitFor();
      await page.locator('.uplot').first().waitFor();
      await noSidewaysScroll(page, 'tenant health');
      await shot(page, 'health', size, size === 'phone');

      // The other pages fit the phone too.
      await page.getByRole('tab', { name: 'Events' }).click();
      await page.locator('#events-table').getByText('user.created').waitFor();
      await noSidewaysScroll(page, 'events');
      for (const [hash, ready] of [
        ['#/health', '#instances-table'],
        ['#/engine', '.job'],
        [`#/engine/${job!.name}`, '#logs-table tr.entry'],
        ['#/audit', '#audit-table tr'],
        ['#/operators', '#operators-table'],
        ['#/account', 'text=Change password'],
      ] as const) {
        await page.goto(`${server.base}/admin${hash}`);
        await page.locator(ready).first().waitFor();
        await noSidewaysScroll(page, hash);
        if (hash === `#/engine/${job!.name}`) await shot(page, 'engine', size);
      }
      // Back to the tenant list: the tenant's card, then sign out.
      await page.goto(`${server.base}/admin#/tenants`);
      await page.getByRole('link', { name: new RegExp(tenantName) }).waitFor();
      await noSidewaysScroll(page, 'tenants');
      await shot(page, 'tenants', size);
      await page.locator('#topnav').getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Password').waitFor();
      await page.reload();
      await page.getByLabel('Password').waitFor();
      await page.context().close();
    });

  for (const size of Object.keys(SIZES) as Size[])
    test(`a viewer cannot revoke; a cross-site form post is refused, at ${SIZES[size].width}×${SIZES[size].height}`, async () => {
      const t = await server.built.tenants.createTenant(`Guarded ${size}`);
      const [tok] = await server.built.tenants.listTokens(t.id);
      const page = await newPage(size);
      await page.goto(`${server.base}/admin#/tenants/${t.id}/tokens`);
      await signIn(page, 'vic', viewerPassword);
      await page.locator('#tokens-table').getByText(tok!.hint).waitFor();
      await page
        .getByText('Your role (viewer) can see tokens but not issue, rotate or revoke them.')
        .waitFor();
      assert.equal(await page.getByRole('button', { name: /Revoke token/ }).count(), 0);
      await noSidewaysScroll(page, 'viewer tokens');
      // Even sent by hand from the page, with the viewer's session and its CSRF token, the revoke is refused.
      const status = await page.evaluate<number>(
        `(async () => {
          const s = await (await fetch('/admin/api/session')).json();
          const r = await fetch('/admin/api/tenants/${t.id}/tokens/${tok!.id}', { method: 'DELETE', headers: { 'X-CSRF-Token': s.csrfToken } });
          return r.status;
        })()`,
      );
      assert.equal(status, 403);
      assert.equal((await server.built.tenants.listTokens(t.id))[0]!.revokedAt, null, 'still active');

      // A page on another origin posts a form to the admin API: the browser sends the session cookie (same site),
      // and the server refuses it (no CSRF token, foreign Origin) before reading the body.
      const refused = page.waitForResponse(
        (r) => r.url() === `${server.base}/admin/api/tenants` && r.request().method() === 'POST',
      );
      await page.goto(attackerUrl);
      const r = await refused;
      assert.equal(r.status(), 403);
      assert.match(await r.text(), /"error":"csrf"/);
      assert.ok(
        !(await server.built.tenants.listTenants()).some((x) => x.name === 'Evil Corp'),
        'nothing was created',
      );
      await page.context().close();
    });

  test('no script error or Content-Security-Policy violation on any page', () => {
    assert.deepEqual(
      // Refusals the tests provoked on purpose (a wrong password, the viewer's revoke, the forged post) are logged by
      // Chromium as failed resource loads; nothing else may appear.
      problems.filter((p) => !/Failed to load resource: .* status of (401|403)\b/.test(p)),
      [],
    );
  });
});
