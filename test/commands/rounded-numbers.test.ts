/**
 * Issue 12, defect 11: numbers reach people rounded. A position built at two leverages carries a blended leverage
 * such as 2.4873310298240066; no rendered reply of /risk, /close, /order, /positions or /audit, and no order alert,
 * may show a number with more than 8 digits after the decimal point.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buttonOf, eventually, makeHarness, type Harness } from '../services/approvals-harness.js';
import { renderText } from '../../src/transports/render.js';
import type { Reply } from '../../src/chat/reply.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Every number in the text with more than 8 digits after its decimal point. */
function unrounded(text: string): string[] {
  return [...text.matchAll(/\d+\.\d{9,}/g)].map((m) => m[0]);
}

describe('numbers on screen', () => {
  it('shows no unrounded number in /risk, /positions, /order, /close, /audit or the order alert', async () => {
    h = await makeHarness();
    await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.01, leverage: 2, reduceOnly: false, clientOrderId: 'r-1' });
    await h.paper.setPrice('BTC-PERP', 65_123.4);
    await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.013, leverage: 3, reduceOnly: false, clientOrderId: 'r-2' });
    await h.paper.placeOrder({ symbol: 'ETH-PERP', side: 'sell', orderType: 'market', quantity: 0.37, leverage: 3, reduceOnly: false, clientOrderId: 'r-3' });
    const blended = (await h.paper.positions()).find((p) => p.symbol === 'BTC-PERP')!.leverage;
    // The premise: the venue reports a leverage that is not a short decimal.
    expect(unrounded(String(blended))).toHaveLength(1);

    const replies: [string, Reply][] = [
      ['/risk', await h.run('victor', 'risk', {})],
      ['/positions', await h.run('victor', 'positions', {})],
      ['/order', await h.preview('alice', 'order', { symbol: 'btc', side: 'long', size_usd: 1234.567, leverage: 2.5 })],
      ['/order limit', await h.preview('alice', 'order', { symbol: 'eth', side: 'short', size_usd: 777.77, leverage: 1.5, price: 3_512.345 })],
    ];
    const close = await h.preview('alice', 'close', { symbol: 'btc' });
    replies.push(['/close', close]);
    await h.startWorker();
    replies.push(['Approve', (await h.click('bob', buttonOf(close, 'Approve'))).update ?? {}]);
    await eventually(async () => (await h!.ctx.approvals.get(close.track!))?.status === 'filled');
    const alert = await eventually(() => h!.notifier.sent.find((s) => s.reply.text?.startsWith('Order filled')));
    replies.push(['order alert', alert.reply]);
    replies.push(['/audit', await h.run('victor', 'audit', { n: 20 })]);
    for (const e of h.notifier.edits) replies.push(['edit', e.reply]);

    const found = replies.flatMap(([name, r]) => unrounded(renderText(r)).map((n) => `${name}: ${n}`));
    expect(found).toEqual([]);
    expect(renderText(replies[0]![1])).toMatch(/BTC-PERP .* \d+(\.\d{1,2})?x /);
  });
});
