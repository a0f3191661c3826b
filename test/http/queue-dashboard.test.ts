/**
 * The queue dashboard at /admin/queues, in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
 * closed without credentials, the queues with their job counts with them. A screenshot is kept as a test artefact
 * in test-artifacts/queue-dashboard.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.js';
import { authorized } from '../../src/http/queue-dashboard.js';
import { loadConfig } from '../../src/config/env.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const USER = 'desk-admin';
const PASSWORD = 'correct horse battery staple';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

let t: TestApp;
let browser: Browser;
let base: string;

beforeAll(async () => {
  t = await startTestApp({ ADMIN_USER: USER, ADMIN_PASSWORD: PASSWORD });
  base = t.app.http.url;
  // One order job, so a count other than zero shows.
  await t.app.ctx.orderQueue.queue.add('place', { approvalId: 'dash-test' }, { jobId: 'dash-test', delay: 3_600_000 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('queue dashboard', () => {
  it('answers 401 with a basic-auth challenge without credentials or with wrong ones', async () => {
    const none = await fetch(`${base}/admin/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    expect((await fetch(`${base}/admin/queues`, { headers: { authorization: basic(USER, 'wrong') } })).status).toBe(401);
    expect((await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: basic('other', PASSWORD) } })).status).toBe(401);
  });

  it('shows every queue with its job counts in a real browser, read-only by default', async () => {
    const context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD }, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const res = await page.goto(`${base}/admin/queues`);
    expect(res?.status()).toBe(200);
    for (const q of ['orders', 'market', 'notify']) await page.getByText(q, { exact: true }).first().waitFor({ timeout: 15_000 });
    const api = await (await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: basic(USER, PASSWORD) } })).json() as {
      queues: { name: string; counts: Record<string, number>; readOnlyMode: boolean }[];
    };
    const orders = api.queues.find((q) => q.name === 'orders');
    expect(orders?.counts.delayed).toBe(1);
    expect(api.queues.every((q) => q.readOnlyMode)).toBe(true);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'queue-dashboard.png'), fullPage: true });
    await context.close();
  });

  it('is off unless both ADMIN_USER and ADMIN_PASSWORD are set; one alone stops start-up naming the other', async () => {
    expect(() => loadConfig({ ADMIN_USER: 'x' })).toThrow(/^ADMIN_PASSWORD: required with ADMIN_USER/);
    expect(() => loadConfig({ ADMIN_PASSWORD: 'x' })).toThrow(/^ADMIN_USER: required with ADMIN_PASSWORD/);
    const off = await startTestApp({});
    try {
      expect((await fetch(`${off.app.http.url}/admin/queues`)).status).toBe(404);
    } finally {
      await off.close();
    }
  });

  it('checks both parts of the credentials', () => {
    expect(authorized(basic(USER, PASSWORD), USER, PASSWORD)).toBe(true);
    expect(authorized(basic(USER, `${PASSWORD}x`), USER, PASSWORD)).toBe(false);
    expect(authorized(`Bearer ${PASSWORD}`, USER, PASSWORD)).toBe(false);
    expect(authorized(undefined, USER, PASSWORD)).toBe(false);
    expect(authorized('Basic bm9jb2xvbg==', USER, PASSWORD)).toBe(false); // "nocolon"
  });
});
