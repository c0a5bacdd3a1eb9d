/**
 * Built-in HTTPS (issue 10): TLS_CERT/TLS_KEY make the server speak HTTPS, and SIGHUP installs a renewed
 * certificate without a restart. Certificates are made by the test with openssl (self-signed, for 127.0.0.1).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { startTestServer } from '../helpers/server.js';
import { describeIfAvailable } from '../helpers/services.js';
import { freshDatabase } from '../helpers/stores.js';
import { childEnv, freePort, ROOT } from '../ops/processes.js';

const OPENSSL = spawnSync('openssl', ['version']).status === 0;

interface Pair {
  cert: string;
  key: string;
  fingerprint: string;
}

/** A self-signed EC certificate for 127.0.0.1 and localhost, in `dir/<name>.{cert,key}.pem`. */
function makeCertificate(dir: string, name: string): Pair {
  const cert = join(dir, `${name}.cert.pem`);
  const key = join(dir, `${name}.key.pem`);
  const r = spawnSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=joyn-scim test ${name}`,
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ], // prettier-ignore
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return { cert, key, fingerprint: new X509Certificate(readPem(cert)).fingerprint256 };
}

const readPem = (path: string) => readFileSync(path);

/** The certificate a new TLS connection to the port is served (no verification: we compare fingerprints). */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.once('error', reject);
  });
}

/** An HTTPS GET that trusts only `ca`, on a fresh connection. */
function httpsGet(
  url: string,
  ca: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          type: String(res.headers['content-type']),
          body: JSON.parse(text),
        }),
      );
    });
    req.once('error', reject);
    req.end();
  });
}

describeIfAvailable(
  'built-in HTTPS',
  {
    unavailable: OPENSSL
      ? undefined
      : 'openssl is not on PATH (Debian: apt install openssl): it makes the test certificates',
  },
  () => {
    let dir: string;
    let one: Pair;
    let two: Pair;
    /** The files the server is configured with; the tests copy a pair over them to "renew". */
    let live: { cert: string; key: string };
    const install = (p: Pair) => {
      copyFileSync(p.cert, live.cert);
      copyFileSync(p.key, live.key);
    };
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'joyn-scim-tls-'));
      one = makeCertificate(dir, 'one');
      two = makeCertificate(dir, 'two');
      assert.notEqual(one.fingerprint, two.fingerprint);
      live = { cert: join(dir, 'live.cert.pem'), key: join(dir, 'live.key.pem') };
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    test('TLS_CERT/TLS_KEY: SCIM over HTTPS, https Tenant URLs; a reload serves the new certificate, a broken one keeps the old', async () => {
      install(one);
      const srv = await startTestServer({ env: { TLS_CERT: live.cert, TLS_KEY: live.key } });
      try {
        assert.match(srv.tenantUrl, /^https:\/\/127\.0\.0\.1:\d+\/scim\//);
        const port = Number(new URL(srv.baseUrl).port);
        const auth = { Authorization: `Bearer ${srv.token}` };
        const res = await httpsGet(`${srv.tenantUrl}/Users`, readPem(one.cert), auth);
        assert.equal(res.status, 200);
        assert.match(res.type, /^application\/scim\+json/);
        assert.equal(res.body.totalResults, 0);
        assert.equal(await servedFingerprint(port), one.fingerprint);
        // Plain HTTP to the HTTPS port gets no SCIM answer (and no secret travels in clear).
        await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));

        install(two);
        srv.server.reloadTls();
        assert.equal(await servedFingerprint(port), two.fingerprint);
        assert.equal((await httpsGet(`${srv.tenantUrl}/Users`, readPem(two.cert), auth)).status, 200);
        await assert.rejects(
          httpsGet(`${srv.tenantUrl}/Users`, readPem(one.cert), auth),
          /self.signed|verify/i,
        );

        // A renewal gone wrong (the new key does not belong to the certificate, or a truncated file) is refused
        // with a reason, and the certificate in use stays.
        copyFileSync(one.key, live.key);
        assert.throws(() => srv.server.reloadTls(), /not a usable PEM certificate and key/);
        writeFileSync(live.cert, '-----BEGIN CERTIFICATE-----\nMIIB\n');
        assert.throws(() => srv.server.reloadTls(), /TLS_CERT\/TLS_KEY/);
        assert.equal(await servedFingerprint(port), two.fingerprint);
        assert.equal((await httpsGet(`${srv.tenantUrl}/Users`, readPem(two.cert), auth)).status, 200);
      } finally {
        await srv.close();
      }
    });

    test('a missing certificate file stops the start with the variable and path named', async () => {
      const db = await freshDatabase('sqlite');
      try {
        const config = loadConfig({
          NODE_ENV: 'test',
          PORT: '0',
          DATABASE_URL: db.url,
          TLS_CERT: join(dir, 'absent.pem'),
          TLS_KEY: one.key,
        });
        await assert.rejects(
          startServer(config, { createDefaultTenant: false }),
          /TLS_CERT: cannot read .*absent\.pem: ENOENT/,
        );
      } finally {
        await db.drop();
      }
    });

    test('SIGHUP: the server process reloads the certificate files; new connections see the new certificate', async () => {
      install(one);
      const db = await freshDatabase('sqlite');
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts')], {
        cwd: ROOT,
        env: childEnv({
          DATABASE_URL: db.url,
          PORT: String(port),
          HOST: '127.0.0.1',
          TLS_CERT: live.cert,
          TLS_KEY: live.key,
          LOG_LEVEL: 'info',
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      const exited = new Promise((r) => child.once('exit', r));
      try {
        // Ready once the first-start banner (Tenant URL and token, printed after listening) is out.
        for (let i = 0; i < 600 && !/Secret Token: (\S+)/.test(out); i++) {
          if (child.exitCode !== null) assert.fail(`server exited: ${out}`);
          await sleep(100);
        }
        const tenantUrl = /Tenant URL: +(\S+)/.exec(out)?.[1];
        const token = /Secret Token: (\S+)/.exec(out)?.[1];
        assert.ok(tenantUrl && token, out);
        assert.match(tenantUrl, new RegExp(`^https://127\\.0\\.0\\.1:${port}/scim/`));
        const auth = { Authorization: `Bearer ${token}` };
        assert.equal((await httpsGet(`${tenantUrl}/Users`, readPem(one.cert), auth)).status, 200);
        assert.equal(await servedFingerprint(port), one.fingerprint);

        install(two);
        child.kill('SIGHUP');
        // The signal is handled asynchronously: wait (bounded) for new connections to show the new certificate.
        let served = one.fingerprint;
        for (let i = 0; i < 100 && served !== two.fingerprint; i++) {
          await sleep(50);
          served = await servedFingerprint(port);
        }
        assert.equal(served, two.fingerprint, out);
        // The log is written asynchronously: the line follows shortly.
        for (let i = 0; i < 100 && !/TLS certificate reloaded/.test(out); i++) await sleep(50);
        assert.match(out, /TLS certificate reloaded/);
        assert.equal((await httpsGet(`${tenantUrl}/Users`, readPem(two.cert), auth)).status, 200);
        assert.equal(child.exitCode, null, 'SIGHUP does not stop the server');
      } finally {
        child.kill('SIGTERM');
        await exited;
        await db.drop();
      }
    });
  },
);
