import { afterEach, describe, expect, it } from 'vitest';
import { legClientId } from '../../src/services/harvester/hedge-executor.js';
import { hedgeHarness, T0, type HedgeHarness } from './hedge-harness.js';
import { approvedPlan, BTC_LOT, entryPlan, exitPlan, filled } from './hedge-stand-in.js';

let x: HedgeHarness | undefined;
afterEach(async () => {
  await x?.close();
  x = undefined;
});

/** The quantities a hedge holds at the venue: the perp short and the spot bought, both positive. */
function venue(h: HedgeHarness): { perp: number; spot: number } {
  return { perp: -h.s.position('BTC-PERP'), spot: h.s.spotHolding('BTC-USD') };
}

describe('hedge entry under partial fills', () => {
  it('when the perp leg fills in part and rests, should cancel the rest and buy spot for exactly what the cancel reports filled', async () => {
    x = await hedgeHarness();
    await approvedPlan(x.redis, x.prefix, entryPlan('pe1aa', T0, 0.153), T0);
    x.s.onNew = (body, market) => (market === 'perp' ? filled(body, 1, 0.077) : filled(body, 2));
    // More filled between the placement's answer and the cancel: the cancel's answer is the truth.
    x.s.onCancel = (o) => ({ ...o, status: 'canceled', filled_quantity: 0.1 });

    const done = await x.executor().run('pe1aa');
    expect(done?.status).toBe('executed');
    expect(x.s.cancels('perp')).toEqual(['o1']);
    expect(x.s.posts('spot').map((b) => b.quantity)).toEqual([0.1]);
    expect(await x.harvester.hedge('BTC-PERP')).toMatchObject({ status: 'open', perpQty: 0.1, spotQty: 0.1 });
    // Nothing is left resting that could fill later and unbalance the legs.
    x.s.fillRest(legClientId('pe1aa', 0));
    expect(venue(x).perp).toBeCloseTo(0.1, 9);
    expect(venue(x).spot).toBeCloseTo(0.1, 9);
  });

  it('when the rest of the perp leg fills before the cancel lands, should read the order back and hedge all of it', async () => {
    x = await hedgeHarness();
    await approvedPlan(x.redis, x.prefix, entryPlan('pe2aa', T0, 0.153), T0);
    x.s.onNew = (body, market) => (market === 'perp' ? filled(body, 1, 0.077) : filled(body, 2));
    x.s.onCancel = (o) => {
      x!.s.fillRest(o.client_order_id);
      return { status: 400, body: { error: { code: 'order_not_open', message: `order ${o.order_id} is filled and cannot be canceled` } } };
    };

    const done = await x.executor().run('pe2aa');
    expect(done?.status).toBe('executed');
    expect(x.s.posts('spot').map((b) => b.quantity)).toEqual([0.153]);
    expect(await x.harvester.hedge('BTC-PERP')).toMatchObject({ status: 'open', perpQty: 0.153, spotQty: 0.153 });
    expect(venue(x)).toEqual({ perp: expect.closeTo(0.153, 9), spot: expect.closeTo(0.153, 9) });
  });

  it('when the spot leg fills in part, should cancel its rest and unwind the perp excess so both legs match within a lot', async () => {
    x = await hedgeHarness();
    await approvedPlan(x.redis, x.prefix, entryPlan('pe3aa', T0, 0.153), T0);
    x.s.onNew = (body, market) => (market === 'perp' ? filled(body, 1 + x!.s.book.size) : filled(body, 1 + x!.s.book.size, 0.07713));

    const done = await x.executor().run('pe3aa');
    expect(done?.status).toBe('executed');
    expect(x.s.cancels('spot')).toHaveLength(1);
    const unwind = x.s.posts('perp').find((b) => b.client_order_id === legClientId('pe3aa', 0, true));
    expect(unwind).toMatchObject({ side: 'buy', quantity: 0.075, reduce_only: true });
    const h = await x.harvester.hedge('BTC-PERP');
    expect(h).toMatchObject({ status: 'open', perpQty: expect.closeTo(0.078, 9), spotQty: expect.closeTo(0.07713, 9) });
    expect(Math.abs(venue(x).perp - venue(x).spot)).toBeLessThanOrEqual(BTC_LOT);
    expect(venue(x).perp).toBeCloseTo(h!.perpQty, 9);
    expect((await x.auditOf('pe3aa')).map((e) => e.action)).toEqual(['harvester.executing', 'harvester.leg', 'harvester.leg', 'harvester.cancel', 'harvester.unwind', 'harvester.executed']);
  });

  it('when the unwind of the perp excess fills only in part, should mark the hedge broken with what the venue holds and raise a critical alert', async () => {
    x = await hedgeHarness();
    await approvedPlan(x.redis, x.prefix, entryPlan('pe4aa', T0, 0.153), T0);
    x.s.onNew = (body, market) => {
      const n = 1 + x!.s.book.size;
      if (market === 'spot') return filled(body, n, 0.05);
      return body.reduce_only === true ? filled(body, n, 0.05) : filled(body, n);
    };

    const done = await x.executor().run('pe4aa');
    expect(done?.status).toBe('failed');
    const h = await x.harvester.hedge('BTC-PERP');
    expect(h).toMatchObject({ status: 'broken', perpQty: expect.closeTo(0.103, 9), spotQty: expect.closeTo(0.05, 9) });
    expect(venue(x).perp).toBeCloseTo(0.103, 9);
    const critical = (await x.published()).filter((a) => a.severity === 'critical');
    expect(critical.map((a) => a.title)).toEqual(['Harvester leg failed — BTC-PERP: decision needed']);
  });
});

describe('hedge exit under partial fills', () => {
  async function openHedge(h: HedgeHarness, id: string, perp: number, spot: number): Promise<void> {
    // The venue holds the hedge (the entry's own orders) and the desk's record says so.
    h.s.put('perp', { ...filled({ client_order_id: 'entry-perp', symbol: 'BTC-PERP', side: 'sell', quantity: perp }, 900) });
    await h.harvester.putHedge({ symbol: 'BTC-PERP', spotSymbol: 'BTC-USD', perpSide: 'short', perpQty: perp, spotQty: spot, openedAt: T0, entryAnnRate: 1.095, planId: id, status: 'open' });
  }

  it('when the perp close fills in part, should sell only as much spot and keep the rest of the hedge, marked broken with a critical alert', async () => {
    x = await hedgeHarness();
    await openHedge(x, 'entry1', 0.153, 0.153);
    await approvedPlan(x.redis, x.prefix, exitPlan('px1aa', T0, 0.153, 0.153), T0);
    x.s.onNew = (body, market) => (market === 'perp' ? filled(body, 1, 0.077) : filled(body, 2));

    const done = await x.executor().run('px1aa');
    expect(done?.status).toBe('failed');
    expect(x.s.cancels('perp')).toEqual(['o1']);
    expect(x.s.posts('spot').map((b) => b.quantity)).toEqual([0.077]);
    const h = await x.harvester.hedge('BTC-PERP');
    expect(h).toMatchObject({ status: 'broken', perpQty: expect.closeTo(0.076, 9), spotQty: expect.closeTo(0.076, 9) });
    const critical = (await x.published()).filter((a) => a.severity === 'critical');
    expect(critical).toHaveLength(1);
    expect(critical[0]!.text).toMatch(/perp 0\.076.*spot 0\.076/);
  });

  it('when the spot sale fills in part, should keep the unsold spot in a broken hedge instead of forgetting it', async () => {
    x = await hedgeHarness();
    await openHedge(x, 'entry2', 0.153, 0.153);
    await approvedPlan(x.redis, x.prefix, exitPlan('px2aa', T0, 0.153, 0.153), T0);
    x.s.onNew = (body, market) => (market === 'perp' ? filled(body, 1) : filled(body, 2, 0.1));

    const done = await x.executor().run('px2aa');
    expect(done?.status).toBe('failed');
    expect(x.s.cancels('spot')).toEqual(['o2']);
    expect(await x.harvester.hedge('BTC-PERP')).toMatchObject({ status: 'broken', perpQty: 0, spotQty: expect.closeTo(0.053, 9) });
    expect((await x.published()).filter((a) => a.severity === 'critical')).toHaveLength(1);
  });

  it('when both legs of an exit fill, should drop the hedge', async () => {
    x = await hedgeHarness();
    await openHedge(x, 'entry3', 0.153, 0.153);
    await approvedPlan(x.redis, x.prefix, exitPlan('px3aa', T0, 0.153, 0.153), T0);
    const done = await x.executor().run('px3aa');
    expect(done?.status).toBe('executed');
    expect(await x.harvester.hedge('BTC-PERP')).toBeNull();
    expect(venue(x)).toEqual({ perp: expect.closeTo(0, 9), spot: expect.closeTo(-0.153, 9) });
  });
});
