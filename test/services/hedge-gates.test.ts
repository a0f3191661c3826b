import { afterEach, describe, expect, it } from 'vitest';
import type { HedgePlan } from '../../src/services/harvester/state.js';
import { legClientId, RESUME_AFTER_MS } from '../../src/services/harvester/hedge-executor.js';
import { hedgeHarness, T0, type HedgeHarness } from './hedge-harness.js';
import { approvedPlan, BTC_TICK, entryPlan, exitPlan, filled } from './hedge-stand-in.js';

let x: HedgeHarness | undefined;
afterEach(async () => {
  await x?.close();
  x = undefined;
});

async function cascadeIn(h: HedgeHarness, symbol: string): Promise<void> {
  await h.cascade.put({ symbol, level: 'severe', direction: 'long_liquidation', since: h.clock.now, lastHotAt: h.clock.now, oiChange: -0.08, priceChange: -0.05 });
}

function rebalancePlan(id: string): HedgePlan {
  return {
    ...entryPlan(id, T0),
    action: 'rebalance',
    legs: [{ market: 'perp', symbol: 'BTC-PERP', side: 'buy', quantity: 0.05, reduceOnly: true }],
    reason: 'test rebalance',
  };
}

describe('hedge executor: pause and cascade right before execution', () => {
  it('when trading was paused after an entry plan was approved, should expire the plan with the reason (audited, announced) and send nothing', async () => {
    x = await hedgeHarness();
    await approvedPlan(x.redis, x.prefix, entryPlan('gate1', T0), T0);
    await x.killSwitch.pause('ops', 'maintenance', T0);

    const rec = await x.executor().run('gate1');
    expect(rec?.status).toBe('expired');
    expect(rec?.result).toMatch(/trading is paused by ops \(maintenance\)/);
    expect(x.s.posts('perp')).toHaveLength(0);
    expect(x.s.posts('spot')).toHaveLength(0);
    expect((await x.auditOf('gate1')).map((e) => [e.actor, e.action, e.detail])).toEqual([
      ['PerpDesk', 'harvester.expired', expect.stringMatching(/^blocked before execution: trading is paused by ops \(maintenance\): enter BTC-PERP/)],
    ]);
    const alerts = await x.published();
    expect(alerts.map((a) => [a.title, a.incident])).toEqual([['Harvester proposal — enter BTC-PERP: expired', 'harvester:gate1']]);
    expect(alerts[0]!.text).toMatch(/trading is paused by ops/);
    // The symbol is free for the next run once trading resumes.
    expect(await x.harvester.openPlanFor('BTC-PERP')).toBeNull();
  });

  it('when a cascade started after an entry plan was approved, should expire it instead of entering', async () => {
    x = await hedgeHarness();
    await approvedPlan(x.redis, x.prefix, entryPlan('gate2', T0), T0);
    await cascadeIn(x, 'BTC-PERP');
    const rec = await x.executor().run('gate2');
    expect(rec?.status).toBe('expired');
    expect(rec?.result).toMatch(/liquidation cascade is running in BTC-PERP/);
    expect(x.s.posts('perp')).toHaveLength(0);
  });

  it('when a run died after claiming an entry plan but before sending a leg, a resume during a pause should expire it', async () => {
    x = await hedgeHarness();
    await approvedPlan(x.redis, x.prefix, entryPlan('gate3', T0), T0);
    expect((await x.harvester.transition('gate3', ['approved'], 'executing', T0)).ok).toBe(true);
    await x.killSwitch.pause('ops', 'maintenance', T0);
    x.clock.now = T0 + RESUME_AFTER_MS;
    const rec = await x.executor().run('gate3', { resume: true });
    expect(rec?.status).toBe('expired');
    expect(x.s.posts('perp')).toHaveLength(0);
  });

  it('when a run died after its first leg filled, a resume during a pause should still complete the hedge rather than leave the perp leg naked', async () => {
    x = await hedgeHarness();
    await approvedPlan(x.redis, x.prefix, entryPlan('gate4', T0), T0);
    expect((await x.harvester.transition('gate4', ['approved'], 'executing', T0)).ok).toBe(true);
    x.s.put('perp', filled({ client_order_id: legClientId('gate4', 0), symbol: 'BTC-PERP', side: 'sell', quantity: 1 }, 900));
    await x.killSwitch.pause('ops', 'maintenance', T0);
    x.clock.now = T0 + RESUME_AFTER_MS;
    const rec = await x.executor().run('gate4', { resume: true });
    expect(rec?.status).toBe('executed');
    expect(x.s.posts('spot').map((b) => b.quantity)).toEqual([1]);
  });
});

describe('hedge executor: no market order in a symbol in cascade', () => {
  it('when a rebalance runs during a cascade, should send a limit order within 0.5 % of mark, never a market order', async () => {
    x = await hedgeHarness();
    await x.harvester.putHedge({ symbol: 'BTC-PERP', spotSymbol: 'BTC-USD', perpSide: 'short', perpQty: 0.2, spotQty: 0.15, openedAt: T0, entryAnnRate: 1.095, planId: 'e0', status: 'open' });
    x.s.put('perp', filled({ client_order_id: 'entry-perp', symbol: 'BTC-PERP', side: 'sell', quantity: 0.2 }, 900));
    await approvedPlan(x.redis, x.prefix, rebalancePlan('gate5'), T0);
    await cascadeIn(x, 'BTC-PERP');
    x.s.price = 64_321;

    const rec = await x.executor().run('gate5');
    expect(rec?.status).toBe('executed');
    const [order] = x.s.posts('perp');
    expect(order).toMatchObject({ order_type: 'limit', side: 'buy', reduce_only: true, quantity: 0.05 });
    const price = Number(order!.price);
    expect(price).toBeGreaterThan(64_321);
    expect(price).toBeLessThanOrEqual(64_321 * 1.005);
    expect(Math.abs(price / BTC_TICK - Math.round(price / BTC_TICK))).toBeLessThan(1e-6);
    expect(await x.harvester.hedge('BTC-PERP')).toMatchObject({ perpQty: expect.closeTo(0.15, 9), spotQty: 0.15 });
  });

  it('when both legs of an exit run during a cascade, should send each as a limit within 0.5 % of mark and cancel what does not fill', async () => {
    x = await hedgeHarness();
    await x.harvester.putHedge({ symbol: 'BTC-PERP', spotSymbol: 'BTC-USD', perpSide: 'short', perpQty: 0.1, spotQty: 0.1, openedAt: T0, entryAnnRate: 1.095, planId: 'e1', status: 'open' });
    x.s.put('perp', filled({ client_order_id: 'entry-perp', symbol: 'BTC-PERP', side: 'sell', quantity: 0.1 }, 900));
    await approvedPlan(x.redis, x.prefix, exitPlan('gate6', T0, 0.1, 0.1), T0);
    await cascadeIn(x, 'BTC-PERP');
    // The spot limit rests: the price ran away from it.
    x.s.onNew = (body, market) => (market === 'perp' ? filled(body, 1) : filled(body, 2, 0));

    const rec = await x.executor().run('gate6');
    expect(x.s.posts('perp').map((b) => b.order_type)).toEqual(['limit']);
    const [spot] = x.s.posts('spot');
    expect(spot).toMatchObject({ order_type: 'limit', side: 'sell' });
    expect(Number(spot!.price)).toBeGreaterThanOrEqual(65_000 * 0.995);
    expect(Number(spot!.price)).toBeLessThan(65_000);
    expect(x.s.cancels('spot')).toEqual(['o2']);
    // Perp closed, spot still held: the hedge is kept, broken, for a person to decide.
    expect(rec?.status).toBe('failed');
    expect(await x.harvester.hedge('BTC-PERP')).toMatchObject({ status: 'broken', perpQty: 0, spotQty: 0.1 });
  });
});
