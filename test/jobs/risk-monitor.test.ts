import { afterEach, describe, expect, it } from 'vitest';
import { runRiskMonitor } from '../../jobs/risk-monitor.js';
import { drained, jobsHarness, telegramInvocation, type JobsHarness } from './support/harness.js';

let h: JobsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function openLong(h: JobsHarness, quantity: number, leverage: number): Promise<void> {
  await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity, leverage, reduceOnly: false, clientOrderId: `t-${quantity}-${leverage}` });
}

async function ticks(h: JobsHarness, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await runRiskMonitor(h.bg.ctx);
  await drained(h);
}

describe('risk monitor', () => {
  it('when a position is pushed under the 10% buffer, should raise one critical warning, not one per tick', async () => {
    // Telegram user 43 is a teammate who only reads (the desk refuses strangers).
    h = await jobsHarness({ env: { PERPDESK_VIEWERS: 'telegram:43' } });
    await openLong(h, 0.1, 5); // liquidation near 52 260
    await ticks(h, 2);
    expect(h.notifier.sent).toHaveLength(0);

    await h.paper.setPrice('BTC-PERP', 57_000); // buffer ~8.3 %
    await ticks(h, 5);
    expect(h.notifier.sent).toHaveLength(1);
    const msg = h.notifier.sent[0]!.reply;
    expect(msg.title).toMatch(/^Liquidation risk — BTC-PERP long: buffer 8\.\d% \(below 10%\)/);
    expect(msg.severity).toBe('critical');
    const fields = Object.fromEntries((msg.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields['Mark']).toBe('57,000.00');
    expect(fields['Liquidation price']).toMatch(/^52,2\d\d\.\d\d$/);
    expect(msg.buttons?.map((b) => b.label)).toEqual(['Acknowledge']);

    // Acknowledge: first click wins and removes the button; a second click is told who took it.
    const ack = await h.click(msg.buttons![0]!.id, telegramInvocation());
    expect(ack.update?.footer).toMatch(/Acknowledged by user42/);
    expect(ack.update?.buttons).toBeUndefined();
    const again = await h.click(msg.buttons![0]!.id, telegramInvocation('43'));
    expect(again.notice).toMatch(/Already acknowledged by user42/);
    expect((await h.ctx.audit.latest(5)).some((e) => e.action === 'alert.acknowledged')).toBe(true);
    await drained(h);
    expect(h.notifier.edits.at(-1)?.reply.footer).toMatch(/Acknowledged by user42/);

    await ticks(h, 3);
    expect(h.notifier.sent).toHaveLength(1);
  });

  it('when the buffer worsens from warning to critical, should edit the first message; when it recovers, should mark it cleared', async () => {
    h = await jobsHarness();
    await openLong(h, 0.1, 5);
    await h.paper.setPrice('BTC-PERP', 61_000); // ~14.3 %: warning
    await ticks(h, 3);
    expect(h.notifier.sent).toHaveLength(1);
    expect(h.notifier.sent[0]!.reply.severity).toBe('warning');
    expect(h.notifier.sent[0]!.reply.title).toMatch(/below 15%/);

    await h.paper.setPrice('BTC-PERP', 57_000); // critical
    await ticks(h, 3);
    expect(h.notifier.sent).toHaveLength(1);
    expect(h.notifier.edits).toHaveLength(1);
    expect(h.notifier.edits[0]!.ref.messageId).toBe(h.notifier.sent[0]!.messageId);
    expect(h.notifier.edits[0]!.reply.title).toMatch(/below 10%/);

    // Back inside the hysteresis band (15-16 %): nothing changes.
    await h.paper.setPrice('BTC-PERP', 61_800);
    await ticks(h, 2);
    expect(h.notifier.edits).toHaveLength(1);

    await h.paper.setPrice('BTC-PERP', 66_000); // ~20.8 %
    await ticks(h, 2);
    expect(h.notifier.sent).toHaveLength(1);
    expect(h.notifier.edits.at(-1)!.reply.title).toMatch(/Liquidation risk cleared — BTC-PERP long/);

    // A new breach after clearing is a new incident.
    await h.paper.setPrice('BTC-PERP', 61_000);
    await ticks(h, 2);
    expect(h.notifier.sent).toHaveLength(2);
  });

  it('should warn once about funding against a position and once about account leverage above the cap', async () => {
    h = await jobsHarness({ env: { MAX_LEVERAGE: '1' } });
    await openLong(h, 2, 5); // 130k notional on 100k equity
    await h.paper.setFunding('BTC-PERP', 0.001); // longs pay 0.1 % per 8 h = 109.5 % APR
    await ticks(h, 4);
    const titles = h.notifier.sent.map((s) => s.reply.title);
    expect(titles.filter((t) => /^Funding against — BTC-PERP long: 109\.50% APR/.test(t ?? ''))).toHaveLength(1);
    expect(titles.filter((t) => /^Account leverage 1\.\d\dx is above the 1x cap/.test(t ?? ''))).toHaveLength(1);
    expect(h.notifier.sent).toHaveLength(2);
    const funding = h.notifier.sent.find((s) => /Funding against/.test(s.reply.title ?? ''))!.reply;
    const fields = Object.fromEntries((funding.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields['Rate per interval']).toBe('0.1000% per 8h');
    expect(fields['Expected next payment']).toMatch(/^-\$130\.\d\d \(pays\)$/);
  });
});
