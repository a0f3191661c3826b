/**
 * The fault test's invariant checker catches what it is meant to: each invariant is broken on purpose (an order
 * sent to the venue behind the desk's back, while paused, in a cascade, above the cap; exposure without a hedge
 * record; a record the venue does not confirm) and must be reported. A checker that never fires proves nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { closeRedis } from '../../src/queues/redis.js';
import { redisUrl, testPrefix } from '../support/redis.js';
import { CONFIG, faultTestRedis, World } from './desk.js';
import { Observer } from './invariants.js';

const redis = faultTestRedis(redisUrl());
afterAll(() => closeRedis(redis));

function world(): { w: World; obs: Observer } {
  const w = new World(redis, testPrefix(), Date.UTC(2024, 0, 15, 3));
  w.venue.engine.setPrice('ETH-PERP', 3_500);
  w.venue.engine.setPrice('BTC-PERP', 65_000);
  return { w, obs: new Observer(redis, w.prefix, w.venue, CONFIG, w.published, w.now) };
}

const eth = (clientOrderId: string, over: Record<string, unknown> = {}) => ({
  symbol: 'ETH-PERP', side: 'buy' as const, orderType: 'market' as const, quantity: 1, leverage: 2, reduceOnly: false, clientOrderId, ...over,
});

describe('the money-path invariant checker', () => {
  it('I1: flags an order no approval or plan stands behind, and one whose approval is still pending', async () => {
    const { w, obs } = world();
    const ex = w.desk.ctx.exchange;
    await ex.placeOrder(eth('manual-1'));
    const reply = await w.desk.run('alice', 'order', { symbol: 'ETH-PERP', side: 'long', size_usd: 1000, leverage: 2 });
    const id = /pd1:ap:([^:]+):/.exec(reply.buttons?.[0]?.id ?? '')?.[1];
    expect(id).toBeTruthy();
    await ex.placeOrder(eth(`pd-${id}`, { quantity: 0.28 }));
    expect(obs.violations.map((v) => `${v.id} ${v.kind}`)).toEqual(['I1 order-without-approval', 'I1 order-without-approval']);
    expect(obs.violations[1]!.detail).toMatch(/pending/);
  });

  it('I2: flags exposure added while paused and a market order in a cascade, not a reduce-only close', async () => {
    const { w, obs } = world();
    const ex = w.desk.ctx.exchange;
    await ex.placeOrder(eth('x-open'));
    await w.desk.run('dana', 'pause', { reason: 'test' });
    await ex.placeOrder(eth('x-close', { side: 'sell', reduceOnly: true, quantity: 0.5 }));
    await ex.placeOrder(eth('x-more'));
    await w.desk.services.cascade.put({ symbol: 'ETH-PERP', level: 'severe', direction: 'long_liquidation', since: w.now(), lastHotAt: w.now(), oiChange: -0.1, priceChange: -0.05 });
    await ex.placeOrder(eth('x-close2', { side: 'sell', reduceOnly: true, quantity: 0.5 }));
    const kinds = obs.violations.filter((v) => v.id === 'I2').map((v) => `${v.kind} ${v.detail.split(' ')[0]}`);
    expect(kinds).toEqual(['exposure-while-paused x-more', 'market-order-in-cascade x-close2']);
  });

  it('I2: flags a fill above the notional cap at its fill price', async () => {
    const { w, obs } = world();
    await w.desk.ctx.exchange.placeOrder(eth('big', { quantity: 3 }));
    obs.checkFills();
    expect(obs.violations.filter((v) => v.id === 'I2').map((v) => v.kind)).toEqual(['fill-above-notional-cap']);
  });

  it('I3: flags hedge-symbol exposure the desk keeps no hedge record of', async () => {
    const { w, obs } = world();
    await w.desk.ctx.exchange.placeSpotOrder({ symbol: 'BTC-USD', side: 'buy', orderType: 'market', quantity: 0.01, clientOrderId: 'spot-1' });
    await obs.afterHarvest();
    expect(obs.violations.filter((v) => v.id === 'I3').map((v) => v.kind)).toEqual(['exposure-without-hedge']);
  });

  it('I4 and I5: flag a filled approval the venue never saw, and venue orders nobody audited', async () => {
    const { w, obs } = world();
    const reply = await w.desk.run('alice', 'order', { symbol: 'ETH-PERP', side: 'long', size_usd: 1000, leverage: 2 });
    const id = /pd1:ap:([^:]+):/.exec(reply.buttons?.[0]?.id ?? '')?.[1]!;
    const rec = await w.desk.services.approvals.get(id);
    await w.desk.services.approvals.transition(id, ['pending'], 'approved', w.now(), { action: 'order.approved', detail: 'test', cause: { actor: 't', platform: 'test' } });
    await w.desk.services.approvals.transition(id, ['approved'], 'submitted', w.now(), { action: 'order.submitted', detail: 'test', cause: { actor: 't', platform: 'test' } });
    await w.desk.services.approvals.transition(id, ['submitted'], 'filled', w.now(), {
      action: 'order.filled', detail: 'test', cause: { actor: 't', platform: 'test' }, result: { orderId: 'P1', status: 'filled', filledQuantity: rec!.plan.quantity, avgPrice: 3500 },
    });
    await w.desk.ctx.exchange.placeOrder(eth('ghost'));
    const { approvals, plans } = await obs.checkRecords();
    await obs.checkBooks(approvals, plans);
    const kinds = obs.violations.map((v) => `${v.id} ${v.kind}`);
    expect(kinds).toContain('I4 venue-order-not-audited');
    expect(kinds).toContain('I5 record-without-venue-order');
  });
});
