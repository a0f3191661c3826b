/**
 * `/flatten` on real parts (Redis, the BullMQ order worker, the paper exchange): one preview of every resting order
 * and position, approved like an order (four-eyes, no self-approval, allowed while paused), executed leg by leg with
 * reduce-only closes (limits within 0.5 % of mark in a cascade), positions that changed since the preview closed as
 * they are, and a leg-by-leg report to the alert destinations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ALERT_CHANNEL, buttonOf, eventually, makeHarness, reachStatus, type Harness } from './approvals-harness.js';
import type { FlattenRecord, FlattenStatus } from '../../src/services/flatten/types.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function open(symbol: string, side: 'long' | 'short', quantity: number, cid: string): Promise<void> {
  await h.paper.placeOrder({ symbol, side: side === 'long' ? 'buy' : 'sell', orderType: 'market', quantity, leverage: 2, reduceOnly: false, clientOrderId: cid });
}

async function reachFlatten(id: string, want: FlattenStatus[]): Promise<FlattenRecord> {
  return eventually(async () => {
    const r = await h.ctx.flattens.get(id);
    return r && want.includes(r.status) ? r : undefined;
  }, 20_000);
}

function report(): string {
  return h.notifier.sent.filter((m) => m.chatId === ALERT_CHANNEL && /Flatten/.test(m.reply.title ?? '')).map((m) => m.reply.text ?? '').join('\n');
}

describe('/flatten', () => {
  it('previews every resting order and position, then on approval cancels and closes them all and reports each leg', async () => {
    h = await makeHarness();
    await h.startWorker();
    await open('BTC-PERP', 'long', 0.05, 'web-1');
    await open('ETH-PERP', 'short', 1.2, 'web-2');
    // A PerpDesk limit order resting on the book, and one placed outside PerpDesk.
    const order = await h.preview('alice', 'order', { symbol: 'BTC-PERP', side: 'long', size_usd: 1200, leverage: 2, price: 60_000 });
    await h.click('bob', buttonOf(order, 'Approve'));
    await reachStatus(h, order.track!, 'submitted');
    // 'submitted' is written before the order goes out: wait until it rests at the venue, so it is the older order (leg 1).
    await eventually(async () => (await h.paper.listOrders()).some((o) => o.symbol === 'BTC-PERP' && o.clientOrderId.startsWith('pd-')));
    await h.paper.placeOrder({ symbol: 'ETH-PERP', side: 'sell', orderType: 'limit', quantity: 0.3, price: 3_900, leverage: 2, reduceOnly: false, clientOrderId: 'web-3' });

    const preview = await h.preview('alice', 'flatten', { reason: 'exchange incident' });
    expect(preview.title).toBe('Flatten preview: cancel 2 order(s), close 2 position(s)');
    const fields = JSON.stringify(preview.fields);
    expect(fields).toContain('BTC-PERP long 0.050: market sell, reduce-only');
    expect(fields).toContain('ETH-PERP short 1.20: market buy, reduce-only');
    expect(fields).toMatch(/BTC-PERP buy 0.02 limit 60,000.00 \(Alice\)/);
    expect(fields).toContain('(outside PerpDesk)');
    expect(preview.buttons?.map((b) => b.label)).toEqual(['Approve', 'Reject']);
    expect((await h.paper.listOrders()).filter((o) => o.clientOrderId.startsWith('fl-'))).toEqual([]);

    // The requester cannot approve their own flatten (ALLOW_SELF_APPROVAL=false); a viewer cannot at all.
    expect((await h.click('alice', buttonOf(preview, 'Approve'))).notice).toMatch(/someone else must approve it/);
    expect((await h.click('victor', buttonOf(preview, 'Approve'))).notice).toMatch(/approver/);
    const ok = await h.click('bob', buttonOf(preview, 'Approve'));
    expect(ok.notice).toBe('Approved: flattening now. The report follows leg by leg when it is done.');
    const rec = await reachFlatten(preview.track!, ['done', 'failed']);
    expect(rec.status).toBe('done');
    expect(rec.result).toBe('4 of 4 legs done');

    expect(await h.paper.positions()).toEqual([]);
    const openLeft = (await h.paper.listOrders()).filter((o) => o.status === 'new' || o.status === 'partially_filled');
    expect(openLeft).toEqual([]);
    expect((await h.ctx.approvals.get(order.track!))?.status).toBe('canceled');
    // Each close went reduce-only, immediate-or-cancel, once, under its leg's client order id.
    const legs = (await h.paper.listOrders()).filter((o) => o.clientOrderId.startsWith(`fl-${rec.id}-`));
    expect(legs.map((o) => [o.symbol, o.side, o.orderType, o.reduceOnly, o.status]).sort()).toEqual([
      ['BTC-PERP', 'sell', 'market', true, 'filled'],
      ['ETH-PERP', 'buy', 'market', true, 'filled'],
    ]);
    const text = report();
    expect(text).toMatch(/Flatten .* \(exchange incident\), requested by Alice, approved by Bob: 4 of 4 legs done/);
    expect(text).toMatch(/✅ 1\. Cancel P\d+ BTC-PERP: cancelled/);
    expect(text).toMatch(/✅ \d\. Close long 0.05 BTC-PERP \(market sell 0.05, reduce-only, fl-.*\): filled 0.05 at/);
    expect(text).toMatch(/✅ \d\. Close short 1.2 ETH-PERP .*: filled 1.2 at/);
    // The preview message ends showing the result and has no buttons.
    const last = await eventually(() => h.notifier.edits.filter((e) => e.ref.messageId.startsWith('preview-') && /Flattened/.test(e.reply.text ?? '')).at(-1));
    expect(last.reply.buttons).toEqual([]);
    const actions = (await h.ctx.audit.latest(100)).filter((e) => e.subject === rec.id).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['flatten.requested', 'flatten.approved', 'flatten.executing', 'flatten.planned', 'flatten.leg', 'flatten.done']));
  });

  it('needs two people where APPROVALS_REQUIRED=2, goes through while paused, and closes limits within 0.5 % of mark in a cascade', async () => {
    h = await makeHarness({ APPROVALS_REQUIRED: '2' });
    await h.startWorker();
    await open('BTC-PERP', 'short', 0.04, 'web-1');
    await h.run('dana', 'pause', { reason: 'incident' });
    const now = h.clock.t;
    await h.ctx.cascade.put({ symbol: 'BTC-PERP', level: 'severe', direction: 'short_squeeze', since: now, lastHotAt: now, oiChange: -0.1, priceChange: 0.05 });
    const preview = await h.preview('alice', 'flatten', {});
    expect(JSON.stringify(preview.fields)).toContain('limit buy within 0.5% of mark (cascade)');
    expect(preview.text).toMatch(/Trading is paused by Dana \(incident\); a flatten still goes through/);
    expect((await h.click('bob', buttonOf(preview, 'Approve'))).notice).toBe('Your approval is recorded (1 of 2).');
    expect((await h.click('bob', buttonOf(preview, 'Approve'))).notice).toBe('You already approved this flatten (1 of 2); it needs another approver.');
    expect((await h.ctx.flattens.get(preview.track!))?.status).toBe('pending');
    await h.click('carol', buttonOf(preview, 'Approve'));
    const rec = await reachFlatten(preview.track!, ['done', 'failed']);
    expect(rec.status).toBe('done');
    const leg = (await h.paper.listOrders()).find((o) => o.clientOrderId.startsWith(`fl-${rec.id}-`))!;
    expect(leg.orderType).toBe('limit');
    expect(leg.side).toBe('buy');
    expect(Math.abs(leg.price! / 65_000 - 1)).toBeLessThanOrEqual(0.005);
    expect(await h.paper.positions()).toEqual([]);
  });

  it('closes the position as it stands when it runs and says it changed; a leg the venue refuses is reported as failed', async () => {
    h = await makeHarness();
    await open('BTC-PERP', 'long', 0.05, 'web-1');
    await open('ETH-PERP', 'long', 1, 'web-2');
    const preview = await h.preview('alice', 'flatten', { reason: 'drill' });
    await h.click('bob', buttonOf(preview, 'Approve'));
    // Between the approval and the execution the BTC position grew and ETH's fills are refused.
    await open('BTC-PERP', 'long', 0.03, 'web-3');
    await h.paper.setFillModel('ETH-PERP', 'reject');
    await h.startWorker();
    const rec = await reachFlatten(preview.track!, ['done', 'failed']);
    expect(rec.status).toBe('failed');
    expect(rec.result).toBe('1 of 2 legs done, 1 failed (leg 2)');
    const text = report();
    expect(text).toMatch(/the position was long 0.05 at the preview and long 0.08 when the flatten ran; filled 0.08 at/);
    expect(text).toMatch(/❌ 2\. Close long 1 ETH-PERP .*: did not fill \(rejected: rejected_by_venue\); the position is still open/);
    expect((await h.paper.positions()).map((p) => [p.symbol, p.size])).toEqual([['ETH-PERP', 1]]);
  });

  it('keeps the report of a flatten with many legs within an alert, failed legs first', async () => {
    h = await makeHarness();
    await h.startWorker();
    await open('BTC-PERP', 'long', 0.05, 'web-1');
    for (let i = 0; i < 60; i++) {
      await h.paper.placeOrder({ symbol: 'ETH-PERP', side: 'buy', orderType: 'limit', quantity: 0.01, price: 3_000 - i, leverage: 2, reduceOnly: false, clientOrderId: `ladder-${i}` });
    }
    await h.paper.setFillModel('BTC-PERP', 'reject');
    const preview = await h.preview('alice', 'flatten', {});
    expect(JSON.stringify(preview.fields)).toMatch(/… and \d+ more/);
    await h.click('bob', buttonOf(preview, 'Approve'));
    const rec = await reachFlatten(preview.track!, ['done', 'failed']);
    expect(rec.result).toBe('60 of 61 legs done, 1 failed (leg 61)');
    const text = report();
    expect(text.length).toBeLessThanOrEqual(3_000);
    expect(text.split('\n')[1]).toMatch(/^❌ 61\. Close long 0.05 BTC-PERP/);
    expect(text).toMatch(/… and \d+ more legs \(\/audit lists each\)$/);
    expect((await h.paper.listOrders()).filter((o) => o.status === 'new')).toEqual([]);
  });

  it('answers when there is nothing to flatten, and a rejected flatten changes nothing', async () => {
    h = await makeHarness();
    expect((await h.run('alice', 'flatten', {})).text).toBe('Nothing to flatten: there are no resting orders and no open positions.');
    expect((await h.run('victor', 'flatten', {})).text).toMatch(/trader/);
    await open('BTC-PERP', 'long', 0.05, 'web-1');
    const preview = await h.preview('alice', 'flatten', {});
    const r = await h.click('carol', buttonOf(preview, 'Reject'));
    expect(r.notice).toBe('Rejected: nothing was cancelled or closed.');
    expect((await h.click('bob', buttonOf(preview, 'Approve'))).notice).toMatch(/it was rejected by Carol/);
    expect((await h.ctx.flattens.get(preview.track!))?.status).toBe('rejected');
    expect((await h.paper.positions())[0]?.size).toBe(0.05);
  });
});
