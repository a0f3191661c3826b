/**
 * DAILY_SUMMARY_HOUR: the ledger job posts yesterday's PnL, funding, fees and open risk with the chart, once per day
 * across concurrent runs (replicas) and a publisher that died half way, through the real alert pipeline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLedger } from '../../jobs/ledger.js';
import { DAY_MS, dayStart, utcDay } from '../../src/domain/ledger.js';
import { signedUsd, usd } from '../../src/format.js';
import { eventually, jobsHarness, type JobsHarness } from './support/harness.js';

describe('daily summary', () => {
  let h: JobsHarness;
  const yesterday = utcDay(Date.now() - DAY_MS);
  const y0 = dayStart(yesterday);

  beforeAll(async () => {
    h = await jobsHarness({ env: { DAILY_SUMMARY_HOUR: '0' } });
    const ledger = h.bg.services.ledger;
    // Yesterday on the desk: a SOL buy at 150 then a sell at 155 (realised +50), and one funding settlement.
    const order = (id: string, side: 'buy' | 'sell', avg: number) => ({
      orderId: id, clientOrderId: `pd-${id}`, symbol: 'SOL-PERP', side, orderType: 'market' as const, quantity: 10, price: null,
      status: 'filled' as const, filledQuantity: 10, avgPrice: avg, reduceOnly: side === 'sell', ts: y0,
    });
    await ledger.observe([order('y1', 'buy', 150)], 'perp', { atPlacement: true, seenAt: y0 + 2 * 3_600_000 });
    await ledger.observe([order('y2', 'sell', 155)], 'perp', { atPlacement: true, seenAt: y0 + 9 * 3_600_000 });
    await ledger.recordFunding({ symbol: 'SOL-PERP', ts: y0 + 5 * 3_600_000, amount: -1.25, recordedAt: y0 + 5 * 3_600_000, size: 10, stamps: 1 });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('posts one summary with the chart, however many runs race and even after a publisher died half way', async () => {
    // A publisher that set the alert's de-dup key and died before enqueueing it.
    await h.redis.set(`${h.prefix}:alerts:dedup:summary:${yesterday}`, '1', 'PX', 60_000);
    const runs = await Promise.all([runLedger(h.bg.ctx), runLedger(h.bg.ctx), runLedger(h.bg.ctx)]);
    expect(runs.map((r) => r.summary).filter((s) => s === 'posted')).toHaveLength(1);
    // A publisher that enqueued it and died before marking the day done.
    await h.redis.del(`${h.prefix}:ledger:summary:${yesterday}`);
    expect((await runLedger(h.bg.ctx)).summary).toBe('duplicate');
    expect((await runLedger(h.bg.ctx)).summary).toBe('already');

    const sent = await eventually(() => h.notifier.sent.find((s) => (s.reply.title ?? '').startsWith(`Daily summary ${yesterday}`)), 15_000, 'the summary');
    const fees = 10 * 150 * 0.0005 + 10 * 155 * 0.0005;
    expect(sent.reply.title).toBe(`Daily summary ${yesterday}: ${signedUsd(50 - 1.25 - fees)}`);
    const fields = Object.fromEntries((sent.reply.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields['Realised']).toBe('+$50.00');
    expect(fields['Funding']).toBe('-$1.25');
    expect(fields['Fees']).toBe(usd(fees));
    expect(fields['Open positions']).toBe('none');
    expect(sent.reply.image?.filename).toBe(`summary-${yesterday}.png`);
    expect(sent.reply.image!.data.subarray(1, 4).toString()).toBe('PNG');
    expect(sent.reply.footer).toContain('daily summary');
    // Once the notify queue has drained, there is no second copy.
    await runLedger(h.bg.ctx);
    await eventually(async () => {
      const c = await h.bg.services.alerts.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(c).every((n) => n === 0);
    }, 15_000, 'the notify queue to drain');
    expect(h.notifier.sent.filter((s) => (s.reply.title ?? '').startsWith('Daily summary'))).toHaveLength(1);
  }, 30_000);
});
