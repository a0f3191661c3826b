/**
 * Positions that change behind the desk's back, seen through the venue stand-in: the paper exchange served over
 * HTTP, read by the real Purple Flea client, changed by "someone else" over the same wire (an order the desk never
 * made, a price move through the liquidation price).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runRiskMonitor } from '../../jobs/risk-monitor.js';
import { PurpleFleaClient } from '../../src/exchange/purpleflea.js';
import { startPaperServer, type PaperServerHandle } from '../../src/exchange/paper-server.js';
import { ApprovalStore } from '../../src/services/approvals/store.js';
import { FlattenStore } from '../../src/services/flatten/store.js';
import { key } from '../../src/services/store.js';
import { drained, entryPlan, jobsHarness, type JobsHarness } from '../jobs/support/harness.js';

let h: JobsHarness | undefined;
let server: PaperServerHandle | undefined;
afterEach(async () => {
  await h?.close();
  await server?.close();
  h = undefined;
  server = undefined;
});

async function overHttp(env: Record<string, string> = {}): Promise<JobsHarness> {
  return jobsHarness({
    env,
    exchange: async (paper) => {
      server = await startPaperServer({ exchange: paper, port: 0 });
      return new PurpleFleaClient({ baseUrl: server.url, apiKey: 'desk-key', retries: 0 });
    },
  });
}

/** Someone at the venue, not PerpDesk: a request over the wire with their own client order id. */
async function venue(path: string, body: object): Promise<Record<string, unknown>> {
  const res = await fetch(`${server!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'someone-else' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const order = (cid: string, side: 'buy' | 'sell', quantity: number, reduceOnly = false, leverage = 5) =>
  venue('/perp/orders', { symbol: 'BTC-PERP', side, order_type: 'market', quantity, leverage, reduce_only: reduceOnly, client_order_id: cid });

async function tick(h: JobsHarness): Promise<Awaited<ReturnType<typeof runRiskMonitor>>> {
  const r = await runRiskMonitor(h.bg.ctx);
  await drained(h);
  return r;
}

const positionAlerts = (h: JobsHarness) => h.notifier.sent.filter((s) => /outside PerpDesk|liquidated|deleveraged/.test(s.reply.title ?? ''));
const fieldsOf = (r: { fields?: { name: string; value: string }[] }) => Object.fromEntries((r.fields ?? []).map((f) => [f.name, f.value]));

describe('position watchdog (venue stand-in over HTTP)', () => {
  it('when the mark goes through the liquidation price and the venue removes the position, should report one liquidation with price and loss', async () => {
    h = await overHttp();
    await order('manual-seed', 'buy', 0.1); // 5x long at ~65 000: liquidation near 52 260
    expect((await tick(h)).positions?.adopted).toBe(true);
    const margin = (await h.paper.positions())[0]!.margin;
    const liq = (await h.paper.positions())[0]!.liquidationPrice!;

    await venue('/paper/price', { symbol: 'BTC-PERP', price: 50_000 });
    expect(await h.paper.positions()).toHaveLength(0);
    const r = await tick(h);
    expect(r.positions?.reported).toEqual(['BTC-PERP:liquidation']);
    await tick(h);
    await tick(h);

    const alerts = positionAlerts(h);
    expect(alerts).toHaveLength(1);
    const a = alerts[0]!.reply;
    expect(a.title).toBe('Position liquidated — BTC-PERP long 0.100');
    expect(a.severity).toBe('critical');
    expect(a.text).toMatch(/Most likely a liquidation: the mark \(50,000\.00\) reached the liquidation price/);
    const f = fieldsOf(a);
    expect(f['Position']).toBe('long 0.100 → none');
    expect(f['Liquidation price']).toBe(liq.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
    expect(f['Realised loss (margin)']).toBe(`-$${margin.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
    expect((await h.ctx.audit.latest(5)).some((e) => e.action === 'position.outside_change' && /most likely liquidation/.test(e.detail))).toBe(true);
  });

  it('when someone closes the position at the venue, should report one outside close with size, price and realised PnL', async () => {
    h = await overHttp();
    await order('manual-seed', 'sell', 0.2, false, 2);
    await tick(h);
    await venue('/paper/price', { symbol: 'BTC-PERP', price: 64_000 }); // the short gains about $200
    const entry = (await h.paper.positions())[0]!.entryPrice;
    await order('someone-closed-it', 'buy', 0.2, true);
    await tick(h);
    await tick(h);

    const alerts = positionAlerts(h);
    expect(alerts).toHaveLength(1);
    const a = alerts[0]!.reply;
    expect(a.title).toBe('Position closed outside PerpDesk — BTC-PERP short 0.200');
    expect(a.text).toMatch(/Most likely a close outside PerpDesk/);
    const f = fieldsOf(a);
    expect(f['Price (mark, est.)']).toBe('64,000.00');
    expect(f['Realised PnL (est.)']).toBe(`+$${(0.2 * (entry - 64_000)).toFixed(2)}`);
  });

  it('when someone opens a position at the venue, should report one outside open; the desk\'s own order is not reported', async () => {
    h = await overHttp();
    await tick(h); // the first look: no positions
    // The desk's own order: its client order id names an approval the desk holds.
    const approvals = new ApprovalStore(h.bg.ctx.store, h.ctx.audit);
    const rec = await approvals.create({
      createdAt: Date.now(), expiresAt: Date.now() + 60_000, requester: { platform: 'console', userId: 'console', displayName: 'console' }, chatId: 'console',
      required: 1, selfApprovalAllowed: true,
      plan: { kind: 'open', symbol: 'ETH-PERP', base: 'ETH', positionSide: 'long', side: 'buy', orderType: 'market', quantity: 1, price: null, leverage: 2, reduceOnly: false, notional: 3_600, refMark: 3_500, tickSize: 0.01, lotSize: 0.001 },
      view: { title: 't', fields: [], text: '' },
    });
    await venue('/perp/orders', { symbol: 'ETH-PERP', side: 'buy', order_type: 'market', quantity: 1, leverage: 2, reduce_only: false, client_order_id: `pd-${rec.id}` });
    // A desk-looking id without a desk record behind it is someone else.
    await order('pd-not-an-approval', 'buy', 0.05, false, 2);
    await tick(h);
    await tick(h);

    const alerts = positionAlerts(h);
    expect(alerts.map((s) => s.reply.title)).toEqual(['Position opened outside PerpDesk — BTC-PERP long 0.050']);
    expect(fieldsOf(alerts[0]!.reply)['Position']).toBe('none → long 0.050');
    expect((await h.paper.positions()).map((p) => p.symbol).sort()).toEqual(['BTC-PERP', 'ETH-PERP']);
  });

  it('when a /flatten leg closes a position, should not report it as a close outside PerpDesk', async () => {
    h = await overHttp();
    await order('manual-seed', 'buy', 0.1, false, 2);
    await tick(h);
    const flattens = new FlattenStore(h.bg.ctx.store, h.ctx.audit);
    const now = Date.now();
    const f = await flattens.create({
      createdAt: now, expiresAt: now + 60_000, requester: { platform: 'console', userId: 'console', displayName: 'console' }, chatId: 'console',
      required: 1, selfApprovalAllowed: true, reason: 'drill', cancels: [], closes: [{ symbol: 'BTC-PERP', side: 'long', size: 0.1, mark: 65_000, cascade: false }],
      view: { title: 't', fields: [], text: '' },
    });
    await order(`fl-${f.id}-0`, 'sell', 0.1, true);
    await tick(h);
    await tick(h);
    expect(positionAlerts(h).map((a) => a.reply.title)).toEqual([]);
    expect(await h.paper.positions()).toEqual([]);
    // A flatten-looking id without a flatten behind it is someone else.
    await order('manual-2', 'buy', 0.05, false, 2);
    await tick(h);
    await order('fl-fnotaflatten-0', 'sell', 0.05, true);
    await tick(h);
    expect(positionAlerts(h).map((a) => a.reply.title)).toEqual([
      'Position opened outside PerpDesk — BTC-PERP long 0.050',
      'Position closed outside PerpDesk — BTC-PERP long 0.050',
    ]);
  });

  it('when a hedge\'s perp leg is closed outside the desk, should mark the hedge broken at once with a naked-leg alert', async () => {
    h = await overHttp();
    await order('manual-seed', 'sell', 0.1, false, 2);
    await h.ctx.harvester.putHedge({ symbol: 'BTC-PERP', spotSymbol: 'BTC-USD', perpSide: 'short', perpQty: 0.1, spotQty: 0.1, openedAt: Date.now(), entryAnnRate: 0.5, planId: entryPlan('abcd1234', Date.now()).id, status: 'open' });
    await tick(h);
    await order('someone-else', 'buy', 0.1, true);
    await tick(h);
    await tick(h);
    const hedge = await h.ctx.harvester.hedge('BTC-PERP');
    expect(hedge?.status).toBe('broken');
    expect(hedge?.perpQty).toBe(0);
    expect(hedge?.note).toMatch(/closed by a close outside PerpDesk/);
    expect(h.notifier.titles(/^Hedge broken — BTC-PERP: the spot leg is naked$/)).toHaveLength(1);
    expect(positionAlerts(h)).toHaveLength(1);
  });

  it('when the run crashes after the alert and before the book is saved, the retry reports nothing twice', async () => {
    h = await overHttp();
    await order('manual-seed', 'buy', 0.1);
    await tick(h);
    const bookKey = key(h.bg.ctx.store, 'watch', 'positions');
    const saved = await h.redis.get(bookKey);
    await order('someone-else', 'sell', 0.1, true);
    await tick(h);
    // The crash: the book as it was before that run, as if the run died right after publishing.
    await h.redis.set(bookKey, saved!);
    const retry = await tick(h);
    expect(retry.positions?.reported).toEqual(['BTC-PERP:outside_close']);
    expect(positionAlerts(h)).toHaveLength(1);
  });

  it('at start-up, should warn again about a position already announced inside the warning buffer', async () => {
    h = await overHttp();
    await order('manual-seed', 'buy', 0.1);
    await venue('/paper/price', { symbol: 'BTC-PERP', price: 61_000 }); // ~14 %: warning
    await tick(h);
    expect(h.notifier.titles(/^Liquidation risk — BTC-PERP long/)).toHaveLength(1);
    await tick(h);
    expect(h.notifier.sent).toHaveLength(1);
    // A restarted process (or a second one starting beside it) warns once more, and only once.
    await runRiskMonitor(h.bg.ctx, { startup: true });
    await runRiskMonitor(h.bg.ctx, { startup: true });
    await drained(h);
    expect(h.notifier.titles(/^After start-up: Liquidation risk — BTC-PERP long: buffer 14\.\d% \(below 15%\)$/)).toHaveLength(1);
    expect(h.notifier.sent).toHaveLength(2);
  });
});
