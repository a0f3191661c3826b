import { afterEach, describe, expect, it } from 'vitest';
import { runFundingHarvester } from '../../jobs/funding-harvester.js';
import { encodeButtonId } from '../../src/chat/button-id.js';
import type { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { legClientId } from '../../src/services/harvester/hedge-executor.js';
import { HarvesterState } from '../../src/services/harvester/state.js';
import { testRedis } from '../support/redis.js';
import type { AuditEntry } from '../../src/services/audit.js';
import { drained, entryPlan as entry, jobsHarness, showPlan, spotRefusing, type JobsHarness } from './support/harness.js';

let h: JobsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function book(paper: PaperExchange) {
  const [positions, balances] = await Promise.all([paper.positions(), paper.spotBalances()]);
  return { perp: positions.find((p) => p.symbol === 'BTC-PERP') ?? null, spotBtc: balances.BTC ?? 0 };
}

async function auditOf(x: JobsHarness, subject: string): Promise<AuditEntry[]> {
  return (await x.ctx.audit.latest(200)).filter((e) => e.subject === subject).reverse();
}

async function cascadeIn(x: JobsHarness, symbol: string): Promise<void> {
  const now = Date.now();
  await x.ctx.cascade.put({ symbol, level: 'extreme', direction: 'long_liquidation', since: now, lastHotAt: now, oiChange: -0.1, priceChange: -0.06 });
}

describe('harvester: an approved plan meets /pause and a cascade', () => {
  for (const mode of ['propose', 'auto'] as const) {
    it(`in ${mode} mode, when the process died after approval and trading was then paused in a cascade, the next run should expire the plan with the reason and enter nothing`, async () => {
      h = await jobsHarness({ env: { HARVESTER_MODE: mode } });
      await h.paper.setFunding('BTC-PERP', 0.001);
      const now = Date.now();
      await h.ctx.harvester.createPlan({ plan: entry('died1', now), status: 'approved', mode, expiresAt: now + 600_000, required: 1 }, now);
      await h.ctx.killSwitch.pause('ops', 'desk review', now);
      await cascadeIn(h, 'BTC-PERP');

      const out = await runFundingHarvester(h.bg.ctx);
      expect(out.find((o) => o.symbol === 'BTC-PERP')).toMatchObject({ planId: 'died1' });
      const rec = await h.ctx.harvester.plan('died1');
      expect(rec?.status).toBe('expired');
      expect(rec?.result).toMatch(/trading is paused by ops \(desk review\)/);
      expect(await book(h.paper)).toEqual({ perp: null, spotBtc: 0 });
      expect((await auditOf(h, 'died1')).map((e) => e.action)).toEqual(['harvester.expired']);
      await drained(h);
      expect(h.notifier.sent.map((s) => s.reply.title)).toContain('Harvester proposal — enter BTC-PERP: expired');
      // Still paused: the next run proposes nothing new either.
      expect((await runFundingHarvester(h.bg.ctx)).find((o) => o.symbol === 'BTC-PERP')).toMatchObject({ action: 'none', reason: 'blocked_paused' });
    });
  }
});

describe('harvester: rebalance during a cascade', () => {
  it('when the legs drift apart during a cascade, should rebalance with a limit order within 0.5 % of mark, never a market order', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' } });
    await h.paper.setFunding('BTC-PERP', 0.001);
    await runFundingHarvester(h.bg.ctx);
    await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.05, leverage: 2, reduceOnly: true, clientOrderId: 'shrink-1' });
    await cascadeIn(h, 'BTC-PERP');
    const before = new Set([...(await h.paper.listOrders()), ...(await h.paper.listSpotOrders())].map((o) => o.clientOrderId));

    const out = await runFundingHarvester(h.bg.ctx);
    expect(out.find((o) => o.symbol === 'BTC-PERP')).toMatchObject({ action: 'rebalance' });
    const sent = [...(await h.paper.listOrders()), ...(await h.paper.listSpotOrders())].filter((o) => !before.has(o.clientOrderId));
    expect(sent.length).toBeGreaterThan(0);
    const mark = (await h.paper.ticker('BTC-PERP')).markPrice;
    for (const o of sent) {
      expect(o.orderType).toBe('limit');
      expect(Math.abs(o.price! / mark - 1)).toBeLessThanOrEqual(0.005);
    }
    const b = await book(h.paper);
    expect(b.perp?.size).toBeCloseTo(0.103, 9);
    expect(b.spotBtc).toBeCloseTo(0.103, 9);
  });
});

describe('harvester: overlapping runs', () => {
  it('when a run decided on a stale read and another run finished a plan meanwhile, should not create a second plan for the symbol', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' } });
    const now = Date.now();
    // Run B read the symbol's plan slot (empty) before run A created, executed and finished its plan.
    const seenByB = await h.ctx.harvester.planSlot('BTC-PERP');
    expect(seenByB).toEqual({ last: null, open: null });
    expect(await h.ctx.harvester.createPlan({ plan: entry('runa1', now), status: 'approved', mode: 'auto', expiresAt: now + 600_000, required: 1 }, now)).not.toBeNull();
    expect((await h.ctx.harvester.transition('runa1', ['approved'], 'executing', now)).ok).toBe(true);
    expect((await h.ctx.harvester.transition('runa1', ['executing'], 'executed', now)).ok).toBe(true);

    const b = await h.ctx.harvester.createPlan({ plan: entry('runb1', now), status: 'approved', mode: 'auto', expiresAt: now + 600_000, required: 1 }, now, { decidedOn: seenByB.last });
    expect(b).toBeNull();
    expect(await h.ctx.harvester.plan('runb1')).toBeNull();
  });

  it('when many runs race to replace a finished plan, should let exactly one of them open a plan', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'propose' } });
    const now = Date.now();
    // Each run has its own connection, as separate processes do, so their commands interleave.
    const states = Array.from({ length: 40 }, () => new HarvesterState({ redis: testRedis(), prefix: h!.prefix }));
    let last = 'old0';
    await h.ctx.harvester.createPlan({ plan: entry(last, now), status: 'pending', mode: 'propose', expiresAt: now + 600_000, required: 1 }, now);
    for (let round = 1; round <= 5; round++) {
      await h.ctx.harvester.transition(last, ['pending'], 'rejected', now);
      const ids = states.map((_, i) => `race${round}x${i}`);
      const made = await Promise.all(states.map((st, i) => st.createPlan({ plan: entry(ids[i]!, now), status: 'pending', mode: 'propose', expiresAt: now + 600_000, required: 1 }, now)));
      const open = (await Promise.all(ids.map((id) => h!.ctx.harvester.plan(id)))).filter((r) => r?.status === 'pending');
      expect(made.filter((r) => r !== null)).toHaveLength(1);
      expect(open).toHaveLength(1);
      last = open[0]!.plan.id;
    }
  });

  it('when two auto runs overlap, should enter one hedge, not two', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' } });
    await h.paper.setFunding('BTC-PERP', 0.001);
    await Promise.all([runFundingHarvester(h.bg.ctx), runFundingHarvester(h.bg.ctx)]);
    const b = await book(h.paper);
    expect(b.perp?.size).toBeCloseTo(0.153, 9);
    expect(b.spotBtc).toBeCloseTo(0.153, 9);
  });
});

describe('harvester: a symbol whose entries keep failing', () => {
  it('after two failed entries in a row, should stop entering the symbol, alert once, show it in /harvester status, and try again after /harvester start', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' }, exchange: (paper) => spotRefusing(paper) });
    await h.paper.setFunding('BTC-PERP', 0.001);
    for (let i = 0; i < 5; i++) await runFundingHarvester(h.bg.ctx);

    const perpOrders = (await h.paper.listOrders()).filter((o) => o.symbol === 'BTC-PERP');
    // Two entries: each a perp leg and its unwind.
    expect(perpOrders).toHaveLength(4);
    expect(await book(h.paper)).toEqual({ perp: null, spotBtc: 0 });
    await drained(h);
    const stopped = h.notifier.sent.filter((s) => s.reply.title === 'Harvester stopped entering BTC-PERP');
    expect(stopped).toHaveLength(1);
    expect(stopped[0]!.reply.severity).toBe('critical');
    expect(stopped[0]!.reply.text).toMatch(/2 entries in a row failed/);

    const status = await h.run('harvester', { action: 'status' });
    const field = status.fields?.find((f) => f.name === 'Entries stopped — BTC-PERP');
    expect(field?.value).toMatch(/insufficient spot balance/);
    expect(field?.value).toMatch(/\/harvester start/);
    expect(status.table?.rows.find((r) => r[0] === 'BTC-PERP')?.[2]).toMatch(/^entry_blocked/);

    const started = await h.run('harvester', { action: 'start' });
    expect(started.fields?.some((f) => f.name.startsWith('Entries stopped'))).toBe(false);
    expect((await h.ctx.audit.latest(5)).find((e) => e.action === 'harvester.start')?.detail).toMatch(/entries in BTC-PERP allowed again/);
    await runFundingHarvester(h.bg.ctx);
    expect((await h.paper.listOrders()).filter((o) => o.symbol === 'BTC-PERP')).toHaveLength(6);
  });

  it('when entries in a symbol are stopped, an Approve click on an entry proposal should be refused and audited', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'propose' } });
    const now = Date.now();
    await h.ctx.harvester.entryFailed('BTC-PERP', 'fail1', 'spot refused', now);
    expect(await h.ctx.harvester.entryFailed('BTC-PERP', 'fail2', 'spot refused', now)).toMatchObject({ symbol: 'BTC-PERP', failures: 2 });
    await h.ctx.harvester.createPlan({ plan: entry('blocked1', now), status: 'pending', mode: 'propose', expiresAt: now + 600_000, required: 1 }, now);
    await showPlan(h, 'blocked1');
    const r = await h.click(encodeButtonId({ action: 'hvok', ref: 'blocked1', exp: Math.ceil((now + 600_000) / 1000) }));
    expect(r.notice).toBe('Approval refused: entries in BTC-PERP are stopped after 2 failed entries in a row; an admin\'s /harvester start allows them again.');
    expect((await h.ctx.harvester.plan('blocked1'))?.status).toBe('pending');
    expect((await auditOf(h, 'blocked1')).map((e) => e.action)).toEqual(['harvester.approval_refused']);
    expect(await h.paper.positions()).toHaveLength(0);
  });

  it('a successful entry between two failures should reset the count', async () => {
    let refuse = true;
    h = await jobsHarness({
      env: { HARVESTER_MODE: 'auto' },
      exchange: (paper) => spotRefusing(paper, () => refuse),
    });
    await h.paper.setFunding('BTC-PERP', 0.001);
    await runFundingHarvester(h.bg.ctx); // fails
    refuse = false;
    await runFundingHarvester(h.bg.ctx); // enters
    await h.paper.setFunding('BTC-PERP', -0.002);
    await runFundingHarvester(h.bg.ctx); // exits
    await h.paper.setFunding('BTC-PERP', 0.001);
    refuse = true;
    await runFundingHarvester(h.bg.ctx); // fails: one in a row
    expect(await h.ctx.harvester.entryBlock('BTC-PERP')).toBeNull();
  });
});

describe('harvester: hedge records reconciled with the venue on each run', () => {
  it('when the rest of an entry perp leg filled after the hedge was recorded, the run should adopt it and bring the legs back to equal', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' } });
    await h.paper.setFunding('BTC-PERP', 0.001);
    const t = Date.now();
    // What the old executor left: the perp leg filled 0.077 at first, the spot leg bought 0.077, the rest of the
    // perp leg filled later. The venue is short 0.153; the record says 0.077 / 0.077.
    await h.ctx.harvester.createPlan({ plan: entry('legacy1', t, 0.153), status: 'approved', mode: 'auto', expiresAt: t + 600_000, required: 1 }, t);
    await h.ctx.harvester.transition('legacy1', ['approved'], 'executing', t);
    await h.ctx.harvester.transition('legacy1', ['executing'], 'executed', t);
    await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'sell', orderType: 'market', quantity: 0.153, leverage: 2, reduceOnly: false, clientOrderId: legClientId('legacy1', 0) });
    await h.paper.placeSpotOrder({ symbol: 'BTC-USD', side: 'buy', orderType: 'market', quantity: 0.077, clientOrderId: legClientId('legacy1', 1) });
    await h.ctx.harvester.putHedge({ symbol: 'BTC-PERP', spotSymbol: 'BTC-USD', perpSide: 'short', perpQty: 0.077, spotQty: 0.077, openedAt: t, entryAnnRate: 1.095, planId: 'legacy1', status: 'open' });

    const out = await runFundingHarvester(h.bg.ctx);
    expect(out.find((o) => o.symbol === 'BTC-PERP')).toMatchObject({ action: 'rebalance' });
    const b = await book(h.paper);
    expect(b.perp?.size).toBeCloseTo(0.077, 9);
    expect(b.spotBtc).toBeCloseTo(0.077, 9);
    expect(await h.ctx.harvester.hedge('BTC-PERP')).toMatchObject({ status: 'open', perpQty: expect.closeTo(0.077, 9), spotQty: expect.closeTo(0.077, 9) });
    expect((await h.ctx.audit.latest(20)).some((e) => e.action === 'harvester.reconciled' && /0\.153/.test(e.detail))).toBe(true);
  });

  it('when the harvester is stopped, a run should still adopt a perp leg that shrank at the venue, and place nothing', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' } });
    await h.paper.setFunding('BTC-PERP', 0.001);
    await runFundingHarvester(h.bg.ctx);
    await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'buy', orderType: 'market', quantity: 0.05, leverage: 2, reduceOnly: true, clientOrderId: 'shrink-3' });
    await h.run('harvester', { action: 'stop' });
    const orders = (await h.paper.listOrders()).length + (await h.paper.listSpotOrders()).length;
    await runFundingHarvester(h.bg.ctx);
    expect(await h.ctx.harvester.hedge('BTC-PERP')).toMatchObject({ perpQty: expect.closeTo(0.103, 9), spotQty: expect.closeTo(0.153, 9) });
    expect((await h.paper.listOrders()).length + (await h.paper.listSpotOrders()).length).toBe(orders);
    expect((await h.ctx.audit.latest(5)).some((e) => e.action === 'harvester.reconciled' && e.subject === 'BTC-PERP')).toBe(true);
  });

  it('when the team holds its own position in the hedged symbol, the run should leave it alone', async () => {
    h = await jobsHarness({ env: { HARVESTER_MODE: 'auto' } });
    await h.paper.setFunding('BTC-PERP', 0.001);
    await runFundingHarvester(h.bg.ctx);
    await h.paper.placeOrder({ symbol: 'BTC-PERP', side: 'sell', orderType: 'market', quantity: 0.01, leverage: 2, reduceOnly: false, clientOrderId: 'pd-team-1' });
    const out = await runFundingHarvester(h.bg.ctx);
    expect(out.find((o) => o.symbol === 'BTC-PERP')).toMatchObject({ action: 'hold' });
    expect((await book(h.paper)).perp?.size).toBeCloseTo(0.163, 9);
    expect(await h.ctx.harvester.hedge('BTC-PERP')).toMatchObject({ perpQty: expect.closeTo(0.153, 9), spotQty: expect.closeTo(0.153, 9) });
  });
});
