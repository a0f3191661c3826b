/**
 * A harvester entry is sized at the notional cap when it is planned, and may run minutes later (a proposal waits for
 * a click; an execution resumes after a crash). Found by the money-path fault test (I2 fill-above-notional-cap,
 * seeds 441, 1161): the perp leg filled above MAX_NOTIONAL_USD at the price of the moment it ran. The entry's first
 * leg is re-sized to the cap at the fresh worst fill price right before it is sent.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { closeRedis } from '../../src/queues/redis.js';
import { HARVEST_APPROVE } from '../../src/services/harvester/plans.js';
import { encodeButtonId } from '../../src/chat/button-id.js';
import { redisUrl, testPrefix } from '../support/redis.js';
import { CONFIG, faultTestRedis, World } from './desk.js';

const redis = faultTestRedis(redisUrl());
afterAll(() => closeRedis(redis));

describe('a harvester entry approved after the price rose', () => {
  it('fills at most MAX_NOTIONAL_USD at its fill price, the legs still equal', async () => {
    const w = new World(redis, testPrefix(), Date.UTC(2024, 0, 15, 3));
    w.venue.engine.setPrice('BTC-PERP', 65_000);
    w.venue.engine.setPrice('ETH-PERP', 3_500);
    w.venue.engine.setFunding('ETH-PERP', 0);
    w.venue.engine.setFunding('BTC-PERP', 0.002);
    await w.desk.harvest('propose');
    const proposal = w.published.find((p) => p.input.buttons?.some((b) => b.action === HARVEST_APPROVE));
    const b = proposal!.input.buttons!.find((x) => x.action === HARVEST_APPROVE)!;
    w.venue.engine.setPrice('BTC-PERP', 66_900);
    await w.desk.click('bob', encodeButtonId({ action: HARVEST_APPROVE, ref: b.ref, exp: b.exp }));
    const perp = w.venue.orders().find((o) => o.clientOrderId === `hv-${b.ref}-0`);
    expect(perp?.status).toBe('filled');
    expect(perp!.filledQuantity * perp!.avgPrice!).toBeLessThanOrEqual(CONFIG.MAX_NOTIONAL_USD);
    expect(perp!.filledQuantity).toBeGreaterThan(0.14);
    expect(w.venue.spotBalance('BTC')).toBeCloseTo(perp!.filledQuantity, 9);
  });

  it('keeps no rest of a market leg open at the venue when the process dies right after the venue answered', async () => {
    // Soak seeds 1048878, 1077401: the perp leg filled half, the process died before it could cancel the rest, and
    // the rest filled later after a rise, taking the leg above MAX_NOTIONAL_USD. Market legs go immediate-or-cancel.
    const w = new World(redis, testPrefix(), Date.UTC(2024, 0, 15, 3));
    w.venue.engine.setPrice('BTC-PERP', 65_000);
    w.venue.engine.setPrice('ETH-PERP', 3_500);
    w.venue.engine.setFunding('ETH-PERP', 0);
    w.venue.engine.setFunding('BTC-PERP', 0.002);
    w.venue.engine.setFillModel('BTC-PERP', 'partial', 0.5);
    w.venue.faults.push('crash-after');
    await w.desk.harvest('auto').catch(() => undefined);
    expect(w.desk.life.dead).toBe(true);
    await w.restart();
    w.venue.engine.setFillModel('BTC-PERP', 'normal');
    w.venue.engine.setPrice('BTC-PERP', 66_300);
    const perp = w.venue.orders().find((o) => /^hv-.+-0$/.test(o.clientOrderId))!;
    expect(perp.filledQuantity).toBeGreaterThan(0);
    expect(perp.filledQuantity * perp.avgPrice!).toBeLessThanOrEqual(CONFIG.MAX_NOTIONAL_USD);
    expect(perp.status).toBe('canceled');
  });
});
