/**
 * `/orders` and `/cancel` on real parts (Redis, BullMQ order worker, paper exchange): what is listed and by whom,
 * a cancel that ends the approval `canceled` with its filled part kept, announced and audited; every bad input
 * answered with nothing changed; two people cancelling one order at once make one cancel; a cancel interrupted by a
 * crash is finished by the sweep.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Exchange, Order } from '../../src/exchange/port.js';
import { OrderCanceller, CANCEL_CLAIM_MS } from '../../src/services/orders/cancel.js';
import { causeOf } from '../../src/services/approvals/store.js';
import { OrderExecutor } from '../../src/services/orders/executor.js';
import { silentLogger } from '../../src/log.js';
import { ALERT_CHANNEL, buttonOf, eventually, makeHarness, reachStatus, type Harness } from './approvals-harness.js';

let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
  await h.startWorker();
});
afterEach(async () => {
  await h.close();
});

/** Alice asks for a limit buy, Bob approves, the worker places it: it rests (or partly fills) on the book. */
async function restingOrder(price: number, size = 1300): Promise<{ approvalId: string; order: Order }> {
  const reply = await h.preview('alice', 'order', { symbol: 'BTC-PERP', side: 'long', size_usd: size, leverage: 2, price });
  await h.click('bob', buttonOf(reply, 'Approve'));
  await reachStatus(h, reply.track!, 'submitted');
  // Placed and its answer recorded (the worker writes `order.accepted` after `submitted`).
  const rec = await eventually(async () => {
    const r = await h.ctx.approvals.get(reply.track!);
    return r?.result ? r : undefined;
  });
  const order = (await h.paper.listOrders({ clientOrderId: `pd-${rec.id}` }))[0]!;
  return { approvalId: rec.id, order };
}

function outsideOrder(): Promise<Order> {
  return h.paper.placeOrder({ symbol: 'ETH-PERP', side: 'sell', orderType: 'limit', quantity: 0.5, price: 3_800, leverage: 2, reduceOnly: false, clientOrderId: 'web-ui-77' });
}

function tableText(r: { table?: { rows: string[][] } }): string {
  return (r.table?.rows ?? []).map((row) => row.join(' | ')).join('\n');
}

describe('/orders', () => {
  it('lists PerpDesk orders with requester and approval, and outside orders marked as such', async () => {
    h.clock.t += 1000;
    const mine = await restingOrder(60_000);
    const outside = await outsideOrder();
    h.clock.t += 125_000;
    const r = await h.run('victor', 'orders', {});
    expect(r.title).toBe('Resting orders: 2');
    const rows = r.table!.rows;
    const pd = rows.find((x) => x[0] === mine.order.orderId)!;
    expect(pd).toEqual([mine.order.orderId, 'BTC-PERP', 'buy', 'limit', '0.021', '0.000', '60,000.00', '−7.69%', '2m', 'Alice', mine.approvalId]);
    const ext = rows.find((x) => x[0] === outside.orderId)!;
    expect(ext[9]).toBe('outside PerpDesk');
    expect(ext[10]).toBe('—');
    expect(ext[7]).toBe('+8.57%');
    expect(r.text).toMatch(/1 placed outside PerpDesk/);

    const eth = await h.run('victor', 'orders', { symbol: 'eth' });
    expect(eth.table!.rows.map((x) => x[0])).toEqual([outside.orderId]);
    expect((await h.run('victor', 'orders', { symbol: 'XRP' })).text).toMatch(/Unknown symbol XRP/);
  });

  it('says so when nothing rests', async () => {
    expect((await h.run('victor', 'orders', {})).text).toBe('No resting orders.');
  });
});

describe('/cancel', () => {
  it('cancels a partly filled order: the approval ends canceled with the filled part kept, audited and announced', async () => {
    await h.paper.setFillModel('BTC-PERP', 'partial', 0.5);
    // A marketable limit: half fills on arrival, the rest stays open.
    const { approvalId, order } = await restingOrder(65_100, 2600);
    expect(order.status).toBe('partially_filled');
    const r = await h.run('alice', 'cancel', { order: order.orderId });
    expect(r.text).toMatch(new RegExp(`Cancelled ${order.orderId} \\(BTC-PERP buy 0.039 limit 65,100.00\\): 0.019 of 0.039 had filled at`));
    const rec = await h.ctx.approvals.get(approvalId);
    expect(rec?.status).toBe('canceled');
    expect(rec?.decidedBy).toBe('Alice');
    expect(rec?.result).toMatchObject({ status: 'canceled', filledQuantity: 0.019 });
    expect((await h.paper.positions()).find((p) => p.symbol === 'BTC-PERP')?.size).toBeCloseTo(0.019, 9);
    const audit = await h.ctx.audit.latest(10);
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['order.cancel_requested', 'order.canceled']));
    const alert = h.notifier.sent.find((m) => m.chatId === ALERT_CHANNEL && /cancelled/.test(m.reply.text ?? ''));
    expect(alert?.reply.title).toBe('Order cancelled: BTC-PERP');
    expect(alert?.reply.text).toMatch(new RegExp(`Alice cancelled a resting order:\\n• ${order.orderId}.*requested by Alice, approval ${approvalId}`));
    // The preview shows the end.
    expect(h.notifier.edits.some((e) => /Cancelled by Alice \(filled 0\.019 of 0\.039/.test(e.reply.text ?? ''))).toBe(true);
  });

  it('cancels an order placed outside PerpDesk, and all of a symbol', async () => {
    const outside = await outsideOrder();
    const a = await restingOrder(60_000);
    const b = await restingOrder(59_000);
    const all = await h.run('alice', 'cancel', { order: 'all', symbol: 'btc' });
    expect(all.title).toBe('Cancel all in BTC-PERP: 2 of 2 cancelled');
    expect((await h.ctx.approvals.get(a.approvalId))?.status).toBe('canceled');
    expect((await h.ctx.approvals.get(b.approvalId))?.status).toBe('canceled');
    expect((await h.paper.listOrders({ clientOrderId: 'web-ui-77' }))[0]?.status).toBe('new');
    const r = await h.run('alice', 'cancel', { order: outside.orderId });
    expect(r.text).toMatch(/^✅ Cancelled/);
    const audit = await h.ctx.audit.latest(5);
    expect(audit.find((e) => e.subject === outside.orderId)?.action).toBe('order.canceled');
  });

  it('keeps the announcement of a long /cancel all within an alert', async () => {
    for (let i = 0; i < 60; i++) {
      await h.paper.placeOrder({ symbol: 'ETH-PERP', side: 'buy', orderType: 'limit', quantity: 0.01, price: 3_000 - i, leverage: 2, reduceOnly: false, clientOrderId: `ladder-${i}` });
    }
    const r = await h.run('alice', 'cancel', { order: 'all' });
    expect(r.title).toBe('Cancel all: 60 of 60 cancelled');
    const alert = h.notifier.sent.find((m) => m.chatId === ALERT_CHANNEL && /orders cancelled/.test(m.reply.title ?? ''))!;
    expect(alert.reply.text!.length).toBeLessThanOrEqual(3_000);
    expect(alert.reply.text).toMatch(/… and \d+ more \(\/audit lists each\)$/);
    expect((await h.ctx.audit.latest(100)).filter((e) => e.action === 'order.canceled')).toHaveLength(60);
  });

  it('answers bad input clearly and changes nothing', async () => {
    const { approvalId, order } = await restingOrder(60_000);
    const before = JSON.stringify(await h.paper.listOrders());
    const auditBefore = (await h.ctx.audit.latest(100)).length;
    expect((await h.run('alice', 'cancel', { order: 'P99999999' })).text).toBe('No order P99999999 at the exchange. /orders lists the resting ones; nothing was cancelled.');
    expect((await h.run('alice', 'cancel', { order: 'DROP TABLE;' })).text).toMatch(/is not an order id/);
    expect((await h.run('alice', 'cancel', { order: 'all', symbol: 'eth' })).text).toBe('No resting orders in ETH-PERP: nothing was cancelled.');
    expect((await h.run('alice', 'cancel', { order: order.orderId, symbol: 'ETH' })).text).toBe(`Order ${order.orderId} is in BTC-PERP, not ETH-PERP; nothing was cancelled.`);
    expect((await h.run('alice', 'cancel', { order: order.orderId, symbol: 'NOPE' })).text).toMatch(/Unknown symbol NOPE/);
    expect((await h.run('victor', 'cancel', { order: order.orderId })).text).toMatch(/trader/);
    expect((await h.run('alice', 'cancel', {})).text).toMatch(/order/);
    expect(JSON.stringify(await h.paper.listOrders())).toBe(before);
    expect((await h.ctx.approvals.get(approvalId))?.status).toBe('submitted');
    expect((await h.ctx.audit.latest(100)).length).toBe(auditBefore);
  });

  it('tells who cancelled an order that is no longer resting, by order id or approval id, and cancels nothing', async () => {
    const { approvalId, order } = await restingOrder(60_000);
    await h.run('alice', 'cancel', { order: order.orderId });
    const again = await h.run('alice', 'cancel', { order: approvalId });
    expect(again.text).toMatch(new RegExp(`${order.orderId} .* is no longer resting: it is canceled by Alice at`));
    // Filled in the meantime: the venue's listing says so.
    const filled = await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.01, leverage: 2, reduceOnly: false, clientOrderId: 'web-ui-78' });
    expect((await h.run('alice', 'cancel', { order: filled.orderId })).text).toMatch(/is no longer resting: it is filled \(0.01 filled\)\. Nothing was cancelled\./);
  });

  it('makes one cancel when two people cancel the same order at once, and tells both', async () => {
    const { order } = await restingOrder(60_000);
    let cancels = 0;
    const counting: Exchange = new Proxy(h.paper, {
      get(target, prop) {
        if (prop === 'cancelOrder') {
          return async (id: string) => {
            cancels += 1;
            await new Promise((r) => setTimeout(r, 50));
            return target.cancelOrder(id);
          };
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const canceller = new OrderCanceller({ store: { redis: h.redis, prefix: h.prefix }, exchange: counting, approvals: h.ctx.approvals, audit: h.ctx.audit, log: silentLogger, now: () => h.clock.t });
    const alice = { actor: 'Alice', platform: 'discord', name: 'Alice' };
    const carol = { actor: 'Carol', platform: 'discord', name: 'Carol' };
    const [x, y] = await Promise.all([canceller.cancel(order, alice), canceller.cancel(order, carol)]);
    expect(cancels).toBe(1);
    expect([x.kind, y.kind].sort()).toEqual(['canceled', 'canceled_by_other']);
    const other = x.kind === 'canceled_by_other' ? x : y;
    expect(other).toMatchObject({ by: 'Alice' });
  });

  it('finishes a cancel that a crash interrupted between its record and its request', async () => {
    const { approvalId, order } = await restingOrder(60_000);
    // The process recorded `canceling`, then died before the cancel reached the venue.
    const rec = (await h.ctx.approvals.get(approvalId))!;
    const t = await h.ctx.approvals.transition(approvalId, ['submitted'], 'canceling', h.clock.t, {
      action: 'order.cancel_requested', detail: 'test', cause: causeOf(rec.requester), decidedBy: 'Alice',
    });
    expect(t.ok).toBe(true);
    const executor = new OrderExecutor({ approvals: h.ctx.approvals, exchange: h.paper, killSwitch: h.ctx.killSwitch, cascade: h.ctx.cascade, config: h.config, log: silentLogger, now: () => h.clock.t });
    // A cancel still within its claim may be running elsewhere: the sweep leaves it.
    await executor.reconcile(async () => undefined);
    expect((await h.ctx.approvals.get(approvalId))?.status).toBe('canceling');
    h.clock.t += CANCEL_CLAIM_MS + 1;
    const report = await executor.reconcile(async () => undefined);
    expect(report.recorded).toEqual([approvalId]);
    expect((await h.ctx.approvals.get(approvalId))?.status).toBe('canceled');
    expect((await h.paper.listOrders({ clientOrderId: order.clientOrderId }))[0]?.status).toBe('canceled');
  });
});
