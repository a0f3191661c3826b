/**
 * `/harvester status` splits each live hedge's PnL into funding, fees, basis and delta (hedgePnl, domain.md §8)
 * from the ledger: the hedge is entered by the real executor through the jobs' exchange, which the ledger observes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executorFor } from '../../src/services/harvester/hedge-executor.js';
import { hedgePnl } from '../../src/domain/harvester.js';
import { unwrap } from '../../src/domain/result.js';
import { recordFundingSettlements } from '../../src/services/ledger/funding-recorder.js';
import { signedUsd } from '../../src/format.js';
import { entryPlan, jobsHarness, type JobsHarness } from './support/harness.js';

describe('/harvester status PnL split', () => {
  let h: JobsHarness;

  beforeAll(async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' } });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('shows funding, fees, basis and delta of a live hedge from the ledger', async () => {
    const now = Date.now();
    await h.paper.setFunding('BTC-PERP', 0.0005);
    await h.ctx.harvester.createPlan({ plan: entryPlan('pnl1', now, 0.2), status: 'approved', mode: 'auto', expiresAt: now + 600_000, required: 1 }, now);
    const done = await executorFor(h.bg.ctx).run('pnl1');
    expect(done?.status).toBe('executed');
    const hedge = (await h.ctx.harvester.hedge('BTC-PERP'))!;
    // A funding settlement of the short perp, and prices moving apart.
    const record = () => recordFundingSettlements({ store: h.bg.ctx.store, ledger: h.ctx.ledger, exchange: h.bg.ctx.exchange, now: () => h.paper.now });
    await record();
    const stamp = (await h.paper.funding('BTC-PERP')).nextFundingTs;
    await h.paper.tick(stamp + 1_000);
    await record();
    await h.paper.setPrice('BTC-PERP', 66_000);
    await h.paper.setPrice('BTC-USD', 65_900);

    const legs = [...(await h.ctx.ledger.orderFills('hv-pnl1-0')), ...(await h.ctx.ledger.orderFills('hv-pnl1-1'))];
    expect(legs.map((f) => f.market).sort()).toEqual(['perp', 'spot']);
    const settled = await h.ctx.ledger.funding(0);
    expect(settled).toHaveLength(1);
    expect(settled[0]!.amount).toBeGreaterThan(0);
    const expected = unwrap(hedgePnl({
      perpSide: 'short', perpQty: hedge.perpQty, perpEntry: legs.find((f) => f.market === 'perp')!.price, perpMark: (await h.paper.ticker('BTC-PERP')).markPrice,
      spotQty: hedge.spotQty, spotEntry: legs.find((f) => f.market === 'spot')!.price, spotPrice: (await h.paper.spotTicker('BTC-USD')).lastPrice,
      fundingPayments: [settled[0]!.amount], feesPaid: legs.map((f) => f.fee),
    }));

    const reply = await h.run('harvester', { action: 'status' });
    const field = reply.fields!.find((f) => f.name === 'Hedge BTC-PERP')!;
    expect(field.value).toContain(`PnL ${signedUsd(expected.total)}: funding ${signedUsd(expected.funding)}, fees ${signedUsd(expected.fees)}, basis ${signedUsd(expected.basis)}, delta ${signedUsd(expected.delta)}`);
    expect(expected.funding).toBeGreaterThan(0);
    expect(expected.fees).toBeLessThan(0);
    expect(expected.basis).not.toBe(0);
  });
});
