import { afterEach, describe, expect, it } from 'vitest';
import { runBasisSampler } from '../../jobs/basis-sampler.js';
import { runCascadeDetector } from '../../jobs/cascade-detector.js';
import { runFundingReminder } from '../../jobs/funding-reminder.js';
import { BASIS_SAMPLE_EVERY_MS } from '../../src/queues/schedulers.js';
import type { Exchange } from '../../src/exchange/port.js';
import { drained, jobsHarness, type JobsHarness } from './support/harness.js';

let h: JobsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('informational signals and the funding reminder', () => {
  it('basis sampler: should store a sample per run for /basis and, once switched on, announce a z ≥ 2 entry and its exit once each', async () => {
    // The paper market keeps its premium fixed with volatility off; the spot quote is steered at the exchange edge.
    let spotOverride: number | null = null;
    h = await jobsHarness({
      tuning: { basisWindow: 10 },
      exchange: (paper) =>
        new Proxy(paper, {
          get(target, prop) {
            if (prop === 'spotTicker') {
              return async (sym: string) => {
                const t = await target.spotTicker(sym);
                return spotOverride === null || sym !== 'BTC-USD' ? t : { ...t, lastPrice: spotOverride };
              };
            }
            const v: unknown = Reflect.get(target, prop, target);
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        }) as unknown as Exchange,
    });
    const now = Date.now();
    // A calm history around 1 bp of basis.
    for (let i = 10; i >= 1; i--) {
      await h.ctx.samples.addBasis('BTC-PERP', { ts: now - i * BASIS_SAMPLE_EVERY_MS, basis: 0.0001 + (i % 2 ? 0.00002 : -0.00002) });
    }
    await h.run('subscribe', { signals: 'basis' });
    const mark = (await h.paper.ticker('BTC-PERP')).markPrice;
    spotOverride = mark / 1.003; // perp 30 bp rich

    const first = await runBasisSampler(h.bg.ctx);
    const btc = first.find((r) => r.symbol === 'BTC-PERP')!;
    expect(btc.signal).toBe('enter_short_perp');
    expect(btc.z!).toBeGreaterThanOrEqual(2);
    await runBasisSampler(h.bg.ctx); // still rich: holding, no second alert
    await drained(h);
    expect(h.notifier.titles(/^Basis signal — BTC-PERP: basis rich/)).toHaveLength(1);
    const stored = await h.ctx.samples.basisSince('BTC-PERP', now - 1);
    expect(stored.length).toBeGreaterThanOrEqual(1);

    const basisReply = await h.run('basis', { symbol: 'BTC-PERP' });
    expect(JSON.stringify(basisReply)).toMatch(/z-score/);

    spotOverride = mark / 0.9995; // back below the mean
    const exit = (await runBasisSampler(h.bg.ctx)).find((r) => r.symbol === 'BTC-PERP')!;
    expect(exit.signal).toBe('exit');
    await drained(h);
    expect(h.notifier.titles(/^Basis signal over — BTC-PERP/)).toHaveLength(1);
  });

  it('OI signal: a sharp hourly OI move should stay off by default and reach only chats that asked for it', async () => {
    h = await jobsHarness();
    const oi = (await h.paper.openInterest('BTC-PERP')).openInterest;
    const mark = (await h.paper.ticker('BTC-PERP')).markPrice;
    await h.ctx.samples.addOi('BTC-PERP', { ts: Date.now() - 50 * 60_000, oi: oi / 1.08, price: mark / 1.01 });
    await runCascadeDetector(h.bg.ctx);
    await drained(h);
    expect(h.notifier.titles(/Open interest signal/)).toHaveLength(0);

    await h.run('subscribe', { signals: 'oi' });
    // Same reading within the hour is de-duplicated; a new key (other quadrant) would pass.
    await h.ctx.samples.addOi('ETH-PERP', { ts: Date.now() - 50 * 60_000, oi: (await h.paper.openInterest('ETH-PERP')).openInterest / 1.08, price: 3_500 / 1.01 });
    await runCascadeDetector(h.bg.ctx);
    await drained(h);
    const titles = h.notifier.titles(/Open interest signal/);
    expect(titles).toHaveLength(1);
    expect(titles[0]).toMatch(/^Open interest signal — ETH-PERP: OI \+8\.00% in 50 min$/);
    const msg = h.notifier.sent.find((s) => /ETH-PERP/.test(s.reply.title ?? ''))!.reply;
    expect(msg.text).toMatch(/new longs — bullish confirmation/);
  });

  it('funding reminder: one message per symbol and funding stamp with each position’s expected payment', async () => {
    h = await jobsHarness({ tuning: { reminderLeadMs: 9 * 3_600_000 } });
    await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'sell', orderType: 'market', quantity: 0.1, leverage: 2, reduceOnly: false, clientOrderId: 'rem-1' });
    await h.paper.setFunding('BTC-PERP', 0.0002);
    expect(await runFundingReminder(h.bg.ctx)).toEqual(['BTC-PERP']);
    expect(await runFundingReminder(h.bg.ctx)).toEqual([]);
    await drained(h);
    const msgs = h.notifier.sent.filter((s) => /^Funding in \d\d:\d\d:\d\d — BTC-PERP$/.test(s.reply.title ?? ''));
    expect(msgs).toHaveLength(1);
    const fields = Object.fromEntries((msgs[0]!.reply.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields['Rate']).toBe('0.0200% per 8h (21.90% APR)');
    expect(fields['Expected payments']).toMatch(/^short 0\.100000: \+\$1\.\d\d \(receives\)$/);
  });
});
