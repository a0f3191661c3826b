/**
 * Stale market data through the venue stand-in: the paper exchange over HTTP freezes a feed at the wire (old values
 * and stamp, or 503 on every call) and the cascade detector, which samples mark, OI and funding every interval,
 * says so once and says once when it is back. Time is the job's clock and the venue's tick, stepped by the test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCascadeDetector } from '../../jobs/cascade-detector.js';
import type { JobContext } from '../../jobs/job-context.js';
import { PurpleFleaClient } from '../../src/exchange/purpleflea.js';
import { startPaperServer, type PaperServerHandle } from '../../src/exchange/paper-server.js';
import { utc } from '../../src/format.js';
import { drained, jobsHarness, telegramInvocation, type JobsHarness } from '../jobs/support/harness.js';

let h: JobsHarness | undefined;
let server: PaperServerHandle | undefined;
afterEach(async () => {
  await h?.close();
  await server?.close();
  h = undefined;
  server = undefined;
});

async function post(path: string, body: object): Promise<void> {
  const res = await fetch(`${server!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'scenario' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
}

/** One interval: the venue's market moves on to `t`, then the detector runs at `t`. */
async function step(ctx: JobContext, t: number): Promise<void> {
  await post('/paper/tick', { now_ms: t });
  await runCascadeDetector(ctx);
}

const INTERVAL = 30_000; // CASCADE_INTERVAL_SECONDS default
const staleTitles = (h: JobsHarness) => h.notifier.titles(/^Stale data|^Data recovered/);

describe('stale-data watchdog (venue stand-in over HTTP)', () => {
  it('when the venue keeps answering with an old mark, should alert once after N intervals and say once when it recovers', async () => {
    h = await jobsHarness({
      exchange: async (paper) => {
        server = await startPaperServer({ exchange: paper, port: 0 });
        return new PurpleFleaClient({ baseUrl: server.url, apiKey: 'desk-key', retries: 0 });
      },
    });
    let t = Date.now();
    const ctx: JobContext = { ...h.bg.ctx, now: () => t };
    const N = ctx.tuning.staleFeedIntervals;
    expect(N).toBe(5);
    await step(ctx, t);
    await post('/paper/feed', { symbol: 'BTC-PERP', feed: 'mark', mode: 'stale' });
    const frozenAt = t;
    // Up to N intervals of old data: nothing yet (a few slow answers are not news).
    for (let i = 1; i <= N; i++) await step(ctx, (t += INTERVAL));
    await drained(h);
    expect(staleTitles(h)).toEqual([]);
    for (let i = 0; i < 4; i++) await step(ctx, (t += INTERVAL));
    await drained(h);
    expect(staleTitles(h)).toEqual([`Stale data — BTC-PERP mark price: nothing fresh since ${utc(frozenAt)}`]);
    const alert = h.notifier.sent.find((s) => /^Stale data/.test(s.reply.title ?? ''))!.reply;
    expect(alert.text).toMatch(/the venue keeps answering with data from/);

    await post('/paper/feed', { symbol: 'BTC-PERP', feed: 'mark', mode: 'live' });
    for (let i = 0; i < 3; i++) await step(ctx, (t += INTERVAL));
    await drained(h);
    expect(staleTitles(h)).toEqual([`Stale data — BTC-PERP mark price: nothing fresh since ${utc(frozenAt)}`, 'Data recovered — BTC-PERP mark price is fresh again']);
  });

  it('when every funding call for a symbol fails, should say the calls fail, once, and recover once', async () => {
    h = await jobsHarness({
      exchange: async (paper) => {
        server = await startPaperServer({ exchange: paper, port: 0 });
        return new PurpleFleaClient({ baseUrl: server.url, apiKey: 'desk-key', retries: 0 });
      },
    });
    let t = Date.now();
    const ctx: JobContext = { ...h.bg.ctx, now: () => t };
    await step(ctx, t);
    await post('/paper/feed', { symbol: 'ETH-PERP', feed: 'funding', mode: 'fail' });
    for (let i = 0; i < 10; i++) await step(ctx, (t += INTERVAL));
    await drained(h);
    expect(staleTitles(h)).toHaveLength(1);
    const alert = h.notifier.sent.find((s) => /^Stale data — ETH-PERP funding rate/.test(s.reply.title ?? ''))!.reply;
    expect(alert.text).toMatch(/every call for it fails/);
    // BTC's feeds kept flowing: one symbol's outage names that symbol only.
    await post('/paper/feed', { symbol: 'ETH-PERP', feed: 'all', mode: 'live' });
    for (let i = 0; i < 3; i++) await step(ctx, (t += INTERVAL));
    await drained(h);
    expect(staleTitles(h)).toEqual([alert.title, 'Data recovered — ETH-PERP funding rate is fresh again']);
  });

  it('/paper stale|fail|live freezes and frees every feed of a symbol for a team rehearsing it (admins only)', async () => {
    h = await jobsHarness({ env: { PERPDESK_VIEWERS: 'telegram:43' } });
    const before = await h.paper.ticker('BTC-PERP');
    const r = await h.run('paper', { action: 'stale', symbol: 'btc' }, telegramInvocation());
    expect(r.title).toBe('Paper feeds — BTC-PERP: stale');
    await h.paper.tick(Date.now() + 60_000);
    await h.paper.setPrice('BTC-PERP', 60_000);
    expect(await h.paper.ticker('BTC-PERP')).toEqual(before);
    expect(Object.keys((await h.paper.frozenFeeds())['BTC-PERP'] ?? {}).sort()).toEqual(['funding', 'mark', 'oi']);

    await h.run('paper', { action: 'fail', symbol: 'BTC-PERP' }, telegramInvocation());
    await expect(h.paper.openInterest('BTC-PERP')).rejects.toMatchObject({ status: 503, code: 'feed_unavailable' });
    const refused = await h.run('paper', { action: 'live', symbol: 'BTC-PERP' }, telegramInvocation('43'));
    expect(refused.severity).not.toBe('success');
    expect(await h.paper.frozenFeeds()).not.toEqual({});

    await h.run('paper', { action: 'live', symbol: 'BTC-PERP' }, telegramInvocation());
    expect(await h.paper.frozenFeeds()).toEqual({});
    expect((await h.paper.ticker('BTC-PERP')).markPrice).toBe(60_000);
  });
});
