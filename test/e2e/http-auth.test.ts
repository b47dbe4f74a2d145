/**
 * The HTTP side with `--http-token-file` (and HTTPS), real processes on
 * 127.0.0.1:
 *
 * - the API without a token, or with a wrong one, gets 401 and
 *   `WWW-Authenticate: Bearer`; with the token, 200;
 * - /livez, /readyz and /metrics stay open, unless `--http-auth-all`;
 * - the page without a token shows a sign-in form; posting the token sets
 *   an HttpOnly cookie that opens the API; in headless Chromium (when
 *   installed) the page signs in and goes live;
 * - `--http-tls-cert/--http-tls-key` serve HTTPS;
 * - the token never appears in the server's output.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { makeCertificates, needsOpenssl } from './tls-certificates.js';

const TOKEN = 'tok-3f9a1c77e2b04d5a9e61c0ffee123456';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP(S) request (`ca` makes it HTTPS). */
function call(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string; ca?: Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const make = options.ca ? httpsRequest : httpRequest;
    const req = make({
      host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, timeout: 10_000,
      ...(options.ca ? { ca: options.ca } : {}),
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

const bearer = { authorization: `Bearer ${TOKEN}` };

test('HTTP authentication with bearer tokens', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-http-auth-'));
  const servers: ServerProcess[] = [];
  try {
    writeFileSync(join(dir, 'tokens'), `# API tokens\n${TOKEN}\nsecond-token-0123456789abcdef\n`);
    const server = await startGantryServer(['--http-token-file', join(dir, 'tokens')]);
    servers.push(server);
    const port = server.httpPort as number;
    assert.ok(port, 'the HTTP side listens');

    await t.test('the API needs the token', async () => {
      const none = await call(port, '/api/sessions');
      assert.equal(none.status, 401);
      assert.match(String(none.headers['www-authenticate']), /^Bearer realm="gantry"$/);
      const wrong = await call(port, '/api/sessions', { headers: { authorization: 'Bearer not-the-token' } });
      assert.equal(wrong.status, 401);
      assert.match(String(wrong.headers['www-authenticate']), /error="invalid_token"/);
      const prefix = await call(port, '/api/sessions', { headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}` } });
      assert.equal(prefix.status, 401);
      for (const path of ['/api/sessions', '/api/server', '/api/workers', '/app.js', '/api/sessions/1/download.h5']) {
        assert.equal((await call(port, path)).status, 401, `${path} without a token`);
      }
      const ok = await call(port, '/api/sessions', { headers: bearer });
      assert.equal(ok.status, 200, ok.body);
      assert.ok(Array.isArray((JSON.parse(ok.body) as { sessions: unknown[] }).sessions));
      const second = await call(port, '/api/server', { headers: { authorization: 'Bearer second-token-0123456789abcdef' } });
      assert.equal(second.status, 200);
    });

    await t.test('probes and metrics stay open', async () => {
      for (const path of ['/livez', '/readyz', '/metrics']) assert.equal((await call(port, path)).status, 200, path);
    });

    await t.test('the page signs in with the token and keeps a cookie', async () => {
      const page = await call(port, '/', { headers: { accept: 'text/html' } });
      assert.equal(page.status, 401);
      assert.match(page.body, /<form method="post" action="login"/);
      const wrong = await call(port, '/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=nope' });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers['set-cookie'], undefined);
      const login = await call(port, '/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(TOKEN)}` });
      assert.equal(login.status, 303);
      const setCookie = String(login.headers['set-cookie']);
      assert.match(setCookie, /^gantry_session=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
      assert.ok(!setCookie.includes(TOKEN), 'the cookie does not hold the token');
      const cookie = setCookie.split(';')[0] as string;
      assert.equal((await call(port, '/api/sessions', { headers: { cookie } })).status, 200);
      const index = await call(port, '/', { headers: { cookie } });
      assert.ok(index.status === 200 || index.status === 503, `page with the cookie: ${index.status}`);
      assert.equal((await call(port, '/api/sessions', { headers: { cookie: 'gantry_session=forged' } })).status, 401);
    });

    await t.test('the page in headless Chromium', async (tt) => {
      const chromium = process.env['GANTRY_CHROMIUM'] ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
      if (!chromium) return tt.skip('needs Debian chromium');
      interface Page {
        goto(url: string): Promise<unknown>;
        fill(selector: string, value: string): Promise<void>;
        click(selector: string): Promise<void>;
        waitForFunction(expression: string, arg?: unknown, options?: { timeout: number }): Promise<unknown>;
      }
      interface Browser { newPage(): Promise<Page>; close(): Promise<void> }
      let mod: { chromium: { launch(o: { executablePath: string; headless: boolean; args: string[] }): Promise<Browser> } };
      try {
        mod = (await import('playwright-core')) as unknown as typeof mod;
      } catch {
        return tt.skip('needs playwright-core');
      }
      const browser = await mod.chromium.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
      try {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${port}/`);
        await page.waitForFunction(`document.getElementById('login') !== null`, undefined, { timeout: 10_000 });
        await page.fill('#token', TOKEN);
        await page.click('#login-submit');
        await page.waitForFunction(`document.getElementById('server-status')?.textContent === 'live'`, undefined, { timeout: 15_000 });
      } finally {
        await browser.close();
      }
    });

    await t.test('--http-auth-all protects probes and metrics too', async () => {
      const strict = await startGantryServer(['--http-token-file', join(dir, 'tokens'), '--http-auth-all']);
      servers.push(strict);
      const p = strict.httpPort as number;
      assert.equal((await call(p, '/metrics')).status, 401);
      assert.equal((await call(p, '/livez')).status, 401);
      assert.equal((await call(p, '/metrics', { headers: bearer })).status, 200);
    });

    await t.test('HTTPS', { skip: needsOpenssl }, async () => {
      const c = makeCertificates(dir);
      const secure = await startGantryServer(['--http-token-file', join(dir, 'tokens'), '--http-tls-cert', c.serverCert, '--http-tls-key', c.serverKey]);
      servers.push(secure);
      assert.match(secure.logs(), /"msg":"gantry http listening"[^\n]*"tls":true[^\n]*"auth":true/);
      const p = secure.httpPort as number;
      const ca = readFileSync(c.ca);
      assert.equal((await call(p, '/livez', { ca })).status, 200);
      assert.equal((await call(p, '/api/sessions', { ca })).status, 401);
      assert.equal((await call(p, '/api/sessions', { ca, headers: bearer })).status, 200);
      const login = await call(p, '/login', { ca, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${TOKEN}` });
      assert.match(String(login.headers['set-cookie']), /; Secure$/);
      await assert.rejects(call(p, '/livez'), 'plain HTTP to the HTTPS port gets no answer');
    });

    await t.test('tokens never appear in the output', async () => {
      for (const s of servers) await s.stop();
      for (const s of servers) {
        const all = `${s.stdout()}${s.stderr()}`;
        assert.ok(!all.includes(TOKEN), 'the token is not in the output');
        assert.ok(!all.includes('second-token'), 'no token is in the output');
      }
      assert.match(server.logs(), /"msg":"http request refused: no valid token"/);
    });
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
