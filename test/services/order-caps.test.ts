/**
 * Issue 12, defects 2, 3 and 10: the per-order notional cap holds at the price an order actually fills at, after the
 * market moved between preview, approval and submission, and the account leverage cap the risk alert promises is
 * enforced at preview, approval and submission (reduce-only closes stay allowed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buttonOf, makeHarness, reachStatus, type Harness } from './approvals-harness.js';
import type { Reply } from '../../src/chat/reply.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function field(reply: Reply, name: string): string {
  const f = reply.fields?.find((x) => x.name === name);
  if (!f) throw new Error(`no field ${name}: ${JSON.stringify(reply.fields)}`);
  return f.value;
}

function dollars(text: string): number {
  const m = /\$([\d,]+\.\d\d)/.exec(text);
  if (!m) throw new Error(`no amount in ${text}`);
  return Number(m[1]!.replaceAll(',', ''));
}

/** Notional of every fill at its fill price. */
async function filledNotionals(): Promise<number[]> {
  return (await h!.paper.listOrders()).filter((o) => o.filledQuantity > 0).map((o) => o.filledQuantity * (o.avgPrice ?? 0));
}

describe('notional cap at the fill price (defect 2)', () => {
  it('sizes a sell limit far below mark at mark, where it fills, and stays within MAX_NOTIONAL_USD', async () => {
    h = await makeHarness();
    await h.startWorker();
    const reply = await h.preview('alice', 'order', { symbol: 'btc', side: 'short', size_usd: 10_000, leverage: 1, price: 55_000 });
    // 10,000 / (65,000 + 0.1 % allowance) = 0.1536.. floored to the lot; at the limit it would be 0.181.
    expect(field(reply, 'Quantity')).toContain('0.153 BTC');
    expect(dollars(field(reply, 'Notional'))).toBeLessThanOrEqual(10_000);
    expect(reply.text).toContain('fills at once near mark');
    await h.click('bob', buttonOf(reply, 'Approve'));
    await reachStatus(h, reply.track!, 'filled');
    const fills = await filledNotionals();
    expect(fills).toHaveLength(1);
    expect(fills[0]).toBeLessThanOrEqual(10_000);
  });

  it('sizes a buy limit at its limit: a buy above mark fills at the touch, below the limit', async () => {
    h = await makeHarness();
    await h.startWorker();
    const reply = await h.preview('alice', 'order', { symbol: 'btc', side: 'long', size_usd: 10_000, leverage: 2, price: 66_000 });
    expect(field(reply, 'Quantity')).toContain('0.151 BTC');
    await h.click('bob', buttonOf(reply, 'Approve'));
    await reachStatus(h, reply.track!, 'filled');
    expect((await filledNotionals())[0]).toBeLessThanOrEqual(10_000);
  });
});

describe('notional cap after the market moved (defect 3)', () => {
  const AT_CAP = { symbol: 'btc', side: 'long', size_usd: 10_000, leverage: 2 };

  it('refuses the approval of a market order whose quantity × fresh mark is above the cap, naming both', async () => {
    h = await makeHarness();
    await h.startWorker();
    const reply = await h.preview('alice', 'order', AT_CAP);
    expect(reply.text).toContain('checked again at the fresh mark on approval and before sending');
    await h.paper.setPrice('BTC-PERP', 65_585); // +0.9 %: inside the 1 % re-preview tolerance
    const r = await h.click('bob', buttonOf(reply, 'Approve'));
    expect(r.notice).toContain('Approval refused: notional 0.153 BTC × 65,650.58 (mark 65,585.00 + 0.1% fill allowance) = $10,044.54');
    expect(r.notice).toContain('above the cap of $10,000.00 (MAX_NOTIONAL_USD)');
    expect((await h.ctx.approvals.get(reply.track!))?.status).toBe('pending');
    expect(await h.paper.listOrders()).toHaveLength(0);
    const refused = (await h.ctx.audit.latest(5)).find((e) => e.action === 'order.approval_refused');
    expect(refused?.detail).toContain('MAX_NOTIONAL_USD');
  });

  it('fails an approved market order at submission when the fresh mark puts it above the cap', async () => {
    h = await makeHarness();
    const reply = await h.preview('alice', 'order', AT_CAP);
    await h.click('bob', buttonOf(reply, 'Approve'));
    await h.paper.setPrice('BTC-PERP', 65_585);
    await h.startWorker();
    const rec = await reachStatus(h, reply.track!, 'failed');
    expect(rec.reason).toContain('not sent: notional 0.153 BTC × 65,650.58');
    expect(rec.reason).toContain('above the cap of $10,000.00 (MAX_NOTIONAL_USD)');
    expect(await h.paper.listOrders()).toHaveLength(0);
  });

  it('fills a market order at the cap when the market held, at no more than the cap', async () => {
    h = await makeHarness();
    await h.startWorker();
    const reply = await h.preview('alice', 'order', AT_CAP);
    await h.paper.setPrice('BTC-PERP', 65_030);
    await h.click('bob', buttonOf(reply, 'Approve'));
    await reachStatus(h, reply.track!, 'filled');
    const fills = await filledNotionals();
    expect(fills).toHaveLength(1);
    expect(fills[0]).toBeLessThanOrEqual(10_000);
  });
});

describe('account leverage cap (defect 10)', () => {
  /** Exposure opened on the venue directly (another desk, the harvester), not through /order. */
  async function openOnVenue(x: Harness, quantity: number, id: string): Promise<void> {
    await x.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity, leverage: 20, reduceOnly: false, clientOrderId: id });
  }

  async function accountLeverage(x: Harness): Promise<number> {
    const [a, ps] = await Promise.all([x.paper.account(), x.paper.positions()]);
    return ps.reduce((s, p) => s + p.size * p.markPrice, 0) / a.equity;
  }

  it('blocks at preview an order that takes account leverage above MAX_LEVERAGE, and allows one that stays under', async () => {
    h = await makeHarness();
    await openOnVenue(h, 7.6, 'venue-1'); // ≈ $494,000 on ≈ $99,730 equity: 4.95x
    expect(await accountLeverage(h)).toBeLessThan(5);
    const over = await h.preview('alice', 'order', { symbol: 'btc', side: 'long', size_usd: 10_000, leverage: 2 });
    expect(over.text).toMatch(/⛔ Account leverage after this order \d\.\d\dx is above the 5x cap \(MAX_LEVERAGE\)/);
    expect(over.buttons).toBeUndefined();
    expect(over.track).toBeUndefined();
    const blocked = (await h.ctx.audit.latest(5)).find((e) => e.action === 'order.preview_blocked');
    expect(blocked?.detail).toContain('MAX_LEVERAGE');
    const under = await h.preview('alice', 'order', { symbol: 'btc', side: 'long', size_usd: 2_000, leverage: 2 });
    expect(under.text).toMatch(/✅ Account leverage after this order \d\.\d\dx ≤ cap 5x \(MAX_LEVERAGE\)/);
    expect(buttonOf(under, 'Approve')).toBeTruthy();
  });

  it('refuses the approval when exposure added since the preview takes account leverage above the cap', async () => {
    h = await makeHarness();
    await openOnVenue(h, 7.6, 'venue-1');
    const reply = await h.preview('alice', 'order', { symbol: 'btc', side: 'long', size_usd: 2_000, leverage: 2 });
    expect(buttonOf(reply, 'Approve')).toBeTruthy();
    await openOnVenue(h, 0.2, 'venue-2');
    const r = await h.click('bob', buttonOf(reply, 'Approve'));
    expect(r.notice).toMatch(/Approval refused: account leverage after this order would be \d\.\d\dx .* above the cap of 5x \(MAX_LEVERAGE\)/);
    expect((await h.ctx.approvals.get(reply.track!))?.status).toBe('pending');
  });

  it('fails an approved order at submission when account leverage would end above the cap', async () => {
    h = await makeHarness();
    await openOnVenue(h, 7.6, 'venue-1');
    const reply = await h.preview('alice', 'order', { symbol: 'btc', side: 'long', size_usd: 2_000, leverage: 2 });
    await h.click('bob', buttonOf(reply, 'Approve'));
    await openOnVenue(h, 0.2, 'venue-2');
    await h.startWorker();
    const rec = await reachStatus(h, reply.track!, 'failed');
    expect(rec.reason).toMatch(/^not sent: account leverage after this order would be \d\.\d\dx/);
    expect((await h.paper.listOrders()).map((o) => o.clientOrderId).sort()).toEqual(['venue-1', 'venue-2']);
  });

  it('lets a reduce-only close through while account leverage is above the cap', async () => {
    h = await makeHarness();
    await openOnVenue(h, 8, 'venue-1'); // ≈ 5.2x
    expect(await accountLeverage(h)).toBeGreaterThan(5);
    const risk = await h.run('victor', 'risk', {});
    expect(risk.text).toContain('is above the 5x cap');
    const blocked = await h.run('alice', 'order', { symbol: 'eth', side: 'short', size_usd: 1_000, leverage: 2 });
    expect(blocked.text).toContain('⛔ Account leverage after this order');
    await h.startWorker();
    const close = await h.preview('alice', 'close', { symbol: 'btc' });
    await h.click('bob', buttonOf(close, 'Approve'));
    await reachStatus(h, close.track!, 'filled');
    expect(await h.paper.positions()).toHaveLength(0);
  });
});

describe('refused previews', () => {
  it('writes a preview refused for a cap to the audit stream with the message the requester saw', async () => {
    h = await makeHarness();
    const reply = await h.run('alice', 'order', { symbol: 'btc', side: 'long', size_usd: 12_000, leverage: 2 });
    expect(reply.text).toContain('above the notional cap of $10,000.00 per order (MAX_NOTIONAL_USD)');
    const [entry] = await h.ctx.audit.latest(1);
    expect(entry).toMatchObject({ action: 'order.preview_refused', actor: 'Alice (discord:1001)', detail: reply.text });
    const close = await h.run('alice', 'close', { symbol: 'eth' });
    expect((await h.ctx.audit.latest(1))[0]).toMatchObject({ action: 'order.preview_refused', detail: close.text });
  });
});
