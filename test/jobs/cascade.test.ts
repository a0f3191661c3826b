import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_NAMES } from '../../src/queues/schedulers.js';
import { eventually, jobsHarness, sleep, type JobsHarness } from './support/harness.js';

const INTERVAL_MS = 1_000;
const HOUR = 3_600_000;
const ORDER = { symbol: 'btc', side: 'long', size_usd: 1000, leverage: 2 };

describe('cascade detector on a paper cascade', () => {
  let h: JobsHarness;

  beforeAll(async () => {
    h = await jobsHarness({
      tickMs: 100,
      every: {
        [JOB_NAMES.cascade]: INTERVAL_MS,
        [JOB_NAMES.risk]: HOUR,
        [JOB_NAMES.reminder]: HOUR,
        [JOB_NAMES.basis]: HOUR,
        [JOB_NAMES.harvester]: HOUR,
      },
      tuning: { cascadeWindowMs: 2_000, cascadeCooldownMs: 2_500 },
    });
  });
  afterAll(async () => h?.close());

  it('when /paper cascade runs, should raise exactly one cascade alert within one interval + 1 s, go limit-only, then post one "cascade over"', async () => {
    // Two windows of samples, so the alert is scored per window (ok), not from short history.
    await eventually(async () => {
      const s = await h.ctx.samples.oiSince('BTC-PERP', Date.now() - 10_000);
      return s.length >= 2 && s[s.length - 1]!.ts - s[0]!.ts >= 2_100;
    }, 10_000, 'two windows of samples');
    expect(h.notifier.titles(/cascade/i)).toHaveLength(0);

    const reply = await h.run('paper', { action: 'cascade', symbol: 'btc' });
    expect(reply.title).toMatch(/Paper cascade started — BTC-PERP/);

    await eventually(() => h.notifier.titles(/Liquidation cascade/).length > 0, INTERVAL_MS + 1_000, 'cascade alert within one interval + 1 s');
    const alert = h.notifier.sent.find((s) => /Liquidation cascade/.test(s.reply.title ?? ''))!;
    const fields = Object.fromEntries((alert.reply.fields ?? []).map((f) => [f.name, f.value]));
    expect(alert.reply.title).toContain('BTC-PERP');
    expect(fields['OI change']).toMatch(/^-\d+\.\d+% per 2 s window$/);
    expect(fields['Price change']).toMatch(/^-\d+\.\d+% per 2 s window$/);
    expect(fields['Window']).toBe('2 s');
    expect(fields['Severity']).toMatch(/^(cascade|severe|extreme) \(score/);
    expect(alert.reply.text).toMatch(/limit-only/);

    expect(await h.ctx.cascade.active('BTC-PERP', Date.now())).not.toBeNull();
    const funding = await h.run('funding', { symbol: 'BTC-PERP' });
    expect(JSON.stringify(funding)).toMatch(/limit-only/);

    await eventually(() => h.notifier.titles(/Cascade over — BTC-PERP/).length > 0, 10_000, 'cascade over message');
    await sleep(1_500);
    expect(h.notifier.titles(/Liquidation cascade/)).toHaveLength(1);
    expect(h.notifier.titles(/Cascade over/)).toHaveLength(1);
    expect(h.notifier.titles(/ETH-PERP|SOL-PERP/)).toHaveLength(0);
    expect(await h.ctx.cascade.get('BTC-PERP')).toBeNull();
    expect(JSON.stringify(await h.run('funding', { symbol: 'BTC-PERP' }))).not.toMatch(/limit-only/);
    // A later escalation edits the first message instead of posting another.
    for (const e of h.notifier.edits) expect(e.ref.messageId).toBe(alert.messageId);
  });
});

describe('cascade detector in its first minutes after start', () => {
  let h: JobsHarness;

  beforeAll(async () => {
    // The default 5-minute window: for the whole test the detector has less than one window of history.
    h = await jobsHarness({
      tickMs: 100,
      every: {
        [JOB_NAMES.cascade]: INTERVAL_MS,
        [JOB_NAMES.risk]: HOUR,
        [JOB_NAMES.reminder]: HOUR,
        [JOB_NAMES.basis]: HOUR,
        [JOB_NAMES.harvester]: HOUR,
      },
    });
  });
  afterAll(async () => h?.close());

  it('when OI drops 6% and price 4% two seconds after start, should raise the cascade alert and refuse a market order', async () => {
    const started = Date.now();
    await eventually(async () => (await h.ctx.samples.oiSince('BTC-PERP', 0)).length >= 1, 5_000, 'a calm sample');
    await sleep(Math.max(0, started + 2_000 - Date.now()));
    expect(h.notifier.titles(/cascade/i)).toHaveLength(0);

    await h.paper.startCascade('BTC-PERP', { oiDropPct: 6, priceDropPct: 4, steps: 1 });

    await eventually(() => h.notifier.titles(/Liquidation cascade/).length > 0, INTERVAL_MS + 1_000, 'cascade alert within one interval + 1 s');
    const alert = h.notifier.sent.find((s) => /Liquidation cascade/.test(s.reply.title ?? ''))!;
    const fields = Object.fromEntries((alert.reply.fields ?? []).map((f) => [f.name, f.value]));
    expect(alert.reply.title).toBe('Liquidation cascade (severe) — BTC-PERP');
    expect(fields['Severity']).toMatch(/^severe \(score 2\.00;/);
    // The raw change since the oldest sample, never scaled up to a 5-minute rate.
    expect(fields['OI change']).toMatch(/^-6\.00% over \d+ s \(less than one 5 min window of history\)$/);
    expect(fields['Price change']).toMatch(/^-4\.00% over \d+ s \(less than one 5 min window of history\)$/);

    expect(await h.ctx.cascade.active('BTC-PERP', Date.now())).not.toBeNull();
    const market = await h.run('order', ORDER);
    expect(market.text).toContain('Liquidation cascade (severe) in BTC-PERP: market orders are refused');
    expect(market.buttons).toBeUndefined();
    expect(await h.paper.listOrders()).toHaveLength(0);
  });
});
