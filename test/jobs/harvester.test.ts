import { afterEach, describe, expect, it } from 'vitest';
import { runFundingHarvester } from '../../jobs/funding-harvester.js';
import { legClientId, RESUME_AFTER_MS } from '../../src/services/harvester/hedge-executor.js';
import type { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { drained, jobsHarness, spotRefusing, type JobsHarness } from './support/harness.js';

let h: JobsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function fieldsOf(r: { fields?: { name: string; value: string }[] }): Record<string, string> {
  return Object.fromEntries((r.fields ?? []).map((f) => [f.name, f.value]));
}

async function book(paper: PaperExchange) {
  const [positions, balances] = await Promise.all([paper.positions(), paper.spotBalances()]);
  return { perp: positions.find((p) => p.symbol === 'BTC-PERP') ?? null, spotBtc: balances.BTC ?? 0 };
}

describe('funding harvester', () => {
  it('when funding is high, should propose both legs of equal size; approved, it opens them; when funding falls, it proposes and closes both', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'propose' } });
    await h.paper.setFunding('BTC-PERP', 0.001); // 109.5 % APR, paid to shorts

    const out = await runFundingHarvester(h.bg.ctx);
    const btc = out.find((o) => o.symbol === 'BTC-PERP')!;
    expect(btc.action).toBe('enter');
    expect(out.filter((o) => o.action === 'enter')).toHaveLength(1);
    await drained(h);
    expect(h.notifier.sent).toHaveLength(1);
    const proposal = h.notifier.sent[0]!.reply;
    expect(proposal.title).toBe('Harvester proposal — enter BTC-PERP (short perp / long spot)');
    const f = fieldsOf(proposal);
    expect(f['Perp leg']).toBe('sell 0.153 BTC-PERP at 2x');
    expect(f['Spot leg']).toBe('buy 0.153 BTC-USD');
    expect(f['Funding rate']).toMatch(/^109\.50% APR/);
    expect(await book(h.paper)).toEqual({ perp: null, spotBtc: 0 });

    // The next run does not stack a second proposal while one is open.
    await runFundingHarvester(h.bg.ctx);
    await drained(h);
    expect(h.notifier.sent).toHaveLength(1);

    const approve = proposal.buttons!.find((b) => b.label === 'Approve')!.id;
    const r = await h.click(approve);
    expect(r.notice).toBe('Approved: both legs placed.');
    let b = await book(h.paper);
    expect(b.perp?.side).toBe('short');
    expect(b.perp?.size).toBeCloseTo(0.153, 9);
    expect(b.spotBtc).toBeCloseTo(0.153, 9);
    expect((await h.ctx.harvester.hedge('BTC-PERP'))?.status).toBe('open');
    expect((await h.click(approve)).notice).toMatch(/already executed/);
    await drained(h);
    expect(h.notifier.sent).toHaveLength(1); // the proposal message was edited, not reposted
    expect(h.notifier.edits.at(-1)!.reply.title).toBe('Harvester entry done — BTC-PERP');

    await h.paper.setFunding('BTC-PERP', 0.0001); // 10.95 % APR: below half the 50 % entry
    const out2 = await runFundingHarvester(h.bg.ctx);
    expect(out2.find((o) => o.symbol === 'BTC-PERP')).toMatchObject({ action: 'exit', reason: 'below_exit' });
    await drained(h);
    const exit = h.notifier.sent.at(-1)!.reply;
    expect(exit.title).toBe('Harvester proposal — exit BTC-PERP');
    const ef = fieldsOf(exit);
    expect(ef['Perp leg']).toBe('buy 0.153 BTC-PERP (reduce-only)');
    expect(ef['Spot leg']).toBe('sell 0.153 BTC-USD');
    await h.click(exit.buttons!.find((x) => x.label === 'Approve')!.id);
    b = await book(h.paper);
    expect(b.perp).toBeNull();
    expect(b.spotBtc).toBeCloseTo(0, 9);
    expect(await h.ctx.harvester.hedge('BTC-PERP')).toBeNull();
    const audit = (await h.ctx.audit.latest(50)).map((e) => e.action);
    expect(audit.filter((a) => a === 'harvester.leg')).toHaveLength(4);
    expect(audit).toContain('harvester.approved');
  });

  it('in auto mode, should place both legs without a proposal and close them when funding falls', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' } });
    await h.paper.setFunding('BTC-PERP', 0.001);
    await runFundingHarvester(h.bg.ctx);
    let b = await book(h.paper);
    expect(b.perp?.size).toBeCloseTo(0.153, 9);
    expect(b.spotBtc).toBeCloseTo(b.perp!.size, 9);
    await h.paper.setFunding('BTC-PERP', -0.002); // against the short beyond 100 % APR
    const out = await runFundingHarvester(h.bg.ctx);
    expect(out.find((o) => o.symbol === 'BTC-PERP')).toMatchObject({ action: 'exit', reason: 'funding_against' });
    b = await book(h.paper);
    expect(b.perp).toBeNull();
    expect(b.spotBtc).toBeCloseTo(0, 9);
    await drained(h);
    expect(h.notifier.titles(/^Harvester (entry|exit) done — BTC-PERP$/)).toHaveLength(2);
  });

  it('when the legs drift apart (the perp leg shrank), should rebalance by reducing the larger leg to match', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' } });
    await h.paper.setFunding('BTC-PERP', 0.001);
    await runFundingHarvester(h.bg.ctx);
    // Part of the perp leg disappears, as in a partial liquidation.
    await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.05, leverage: 2, reduceOnly: true, clientOrderId: 'shrink-1' });
    const out = await runFundingHarvester(h.bg.ctx);
    expect(out.find((o) => o.symbol === 'BTC-PERP')).toMatchObject({ action: 'rebalance', reason: 'legs_drifted' });
    const b = await book(h.paper);
    expect(b.perp?.size).toBeCloseTo(0.103, 9);
    expect(b.spotBtc).toBeCloseTo(0.103, 9);
    expect((await h.ctx.harvester.hedge('BTC-PERP'))).toMatchObject({ perpQty: expect.closeTo(0.103, 9), spotQty: expect.closeTo(0.103, 9) });
    // Balanced again: the next run holds.
    expect((await runFundingHarvester(h.bg.ctx)).find((o) => o.symbol === 'BTC-PERP')).toMatchObject({ action: 'hold' });
  });

  it('when the second leg fails, should unwind the first and say so, leaving no naked position', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' }, exchange: (paper) => spotRefusing(paper) });
    await h.paper.setFunding('BTC-PERP', 0.001);
    await runFundingHarvester(h.bg.ctx);
    expect(await book(h.paper)).toEqual({ perp: null, spotBtc: 0 });
    expect(await h.ctx.harvester.hedge('BTC-PERP')).toBeNull();
    await drained(h);
    const failed = h.notifier.sent.find((s) => /^Harvester enter failed — BTC-PERP$/.test(s.reply.title ?? ''));
    expect(failed?.reply.text).toMatch(/second leg refused by the exchange: insufficient spot balance; the first leg \(perp sell 0\.153\) was unwound/);
    const audit = (await h.ctx.audit.latest(20)).map((e) => e.action);
    expect(audit).toContain('harvester.unwind');
    // The failed plan releases the symbol: the next run may try again.
    expect(await h.ctx.harvester.openPlanFor('BTC-PERP')).toBeNull();
  });
  it('when a run died mid-hedge and the harvester was then stopped, should still finish the abandoned plan, never leave the first leg naked', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' } });
    const t0 = Date.now() - RESUME_AFTER_MS - 1_000;
    const plan = {
      id: 'crashed1', action: 'enter' as const, symbol: 'BTC-PERP', spotSymbol: 'BTC-USD', perpSide: 'short' as const,
      legs: [
        { market: 'perp' as const, symbol: 'BTC-PERP', side: 'sell' as const, quantity: 0.1, reduceOnly: false },
        { market: 'spot' as const, symbol: 'BTC-USD', side: 'buy' as const, quantity: 0.1, reduceOnly: false },
      ],
      leverage: 2, mark: 65_000, spot: 65_000, annRate: 1.095, predictedAnnRate: null, reason: 'test', createdAt: t0,
    };
    await h.ctx.harvester.createPlan({ plan, status: 'approved', mode: 'auto', expiresAt: t0 + 600_000, required: 1 }, t0);
    expect((await h.ctx.harvester.transition(plan.id, ['approved'], 'executing', t0)).ok).toBe(true);
    // The dead run had placed the first leg only.
    await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'sell', orderType: 'market', quantity: 0.1, leverage: 2, reduceOnly: false, clientOrderId: legClientId(plan.id, 0) });
    expect(await h.run('harvester', { action: 'stop' })).toBeTruthy();
    expect(await h.ctx.harvester.enabled()).toBe(false);

    const out = await runFundingHarvester(h.bg.ctx);
    expect(out.find((o) => o.symbol === 'BTC-PERP')).toMatchObject({ reason: 'resumed', planId: plan.id });
    expect((await h.ctx.harvester.plan(plan.id))?.status).toBe('executed');
    const b = await book(h.paper);
    expect(b.perp?.size).toBeCloseTo(0.1, 9);
    expect(b.spotBtc).toBeCloseTo(0.1, 9);
    // Stopped means nothing new: no further plan was proposed or entered.
    expect((await runFundingHarvester(h.bg.ctx)).filter((o) => o.action === 'enter')).toHaveLength(0);
  });
  it('when a rebalance is resumed after dying between recording the hedge and marking the plan done, should not shrink the hedge twice', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' } });
    await h.paper.setFunding('BTC-PERP', 0.001);
    await runFundingHarvester(h.bg.ctx);
    await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.05, leverage: 2, reduceOnly: true, clientOrderId: 'shrink-2' });
    const out = await runFundingHarvester(h.bg.ctx);
    const planId = out.find((o) => o.symbol === 'BTC-PERP' && o.action === 'rebalance')!.planId!;
    expect((await h.ctx.harvester.hedge('BTC-PERP'))?.perpQty).toBeCloseTo(0.103, 9);
    // The state a crash leaves between the hedge write and the plan's `executed`: hedge updated, plan executing.
    await h.redis.hset(`${h.prefix}:harvester:plan:${planId}`, 'status', 'executing', 'updatedAt', String(Date.now() - RESUME_AFTER_MS - 1_000));
    await h.redis.set(`${h.prefix}:harvester:open:BTC-PERP`, planId);

    expect((await runFundingHarvester(h.bg.ctx)).find((o) => o.symbol === 'BTC-PERP')).toMatchObject({ reason: 'resumed', planId });
    expect((await h.ctx.harvester.plan(planId))?.status).toBe('executed');
    expect(await h.ctx.harvester.hedge('BTC-PERP')).toMatchObject({ perpQty: expect.closeTo(0.103, 9), spotQty: expect.closeTo(0.103, 9) });
    expect((await book(h.paper)).perp?.size).toBeCloseTo(0.103, 9);
  });
});
