import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { actor } from '../support/desk.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({});
});
afterAll(async () => t?.close());

describe('/status on the whole app', () => {
  it('lists the order, market and notify queues and the job schedulers', async () => {
    const r = await t.app.desk.command('status', {}, actor('discord', '1'));
    const names = (r.table?.rows ?? []).map((row) => row[0]);
    expect(names).toEqual(expect.arrayContaining(['orders', 'market', 'notify']));
    expect(r.text).toMatch(/cascade-detector: every 30s/);
    expect(r.text).toMatch(/funding-harvester: every 300s/);
    expect(r.fields?.find((f) => f.name === 'Trading')?.value).toBe('▶ active');
  });
});
