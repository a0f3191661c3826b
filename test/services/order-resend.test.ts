/**
 * Issue 12, defect 1: an order that is already `submitted` but never reached the exchange is sent again by the
 * BullMQ retry or the reconcile sweep. Every check runs again, with a fresh ticker, before that second send; an
 * order the exchange already has is recorded as it is, whatever changed since.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { approvedWithoutWorker, buttonOf, eventually, makeHarness, reachStatus, withPlaceOrder, ALERT_CHANNEL, type Harness } from './approvals-harness.js';
import { ExchangeError, type Exchange } from '../../src/exchange/port.js';
import { SYSTEM } from '../../src/services/approvals/store.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

type Change = (x: Harness) => Promise<void>;
const pause: Change = async (x) => {
  expect((await x.run('dana', 'pause', { reason: 'venue incident' })).text).toContain('Trading paused by Dana');
};
const markUp10: Change = (x) => x.paper.setPrice('BTC-PERP', 71_500);
const extremeCascade: Change = (x) => x.ctx.cascade.put({
  symbol: 'BTC-PERP', level: 'extreme', direction: 'long_liquidation', since: x.clock.t, lastHotAt: x.clock.t, oiChange: -0.2, priceChange: -0.12,
});

/** The first POST times out without reaching the exchange; `between` runs before the retry. */
function firstPostLost(x: Harness, between: Change): { exchange: Exchange; sent: string[] } {
  const sent: string[] = [];
  const exchange = withPlaceOrder(x.paper, async (req) => {
    sent.push(req.clientOrderId);
    if (sent.length === 1) {
      await between(x);
      throw new ExchangeError('timeout', 'request timed out after 10000 ms');
    }
    return x.paper.placeOrder(req);
  });
  return { exchange, sent };
}

describe('re-sending a submitted order', () => {
  it('does not re-send after a lost first POST, then /pause, mark +10% and an extreme cascade; the approval fails, announced', async () => {
    h = await makeHarness();
    const id = await approvedWithoutWorker(h);
    const lost = firstPostLost(h, async (x) => {
      await pause(x);
      await markUp10(x);
      await extremeCascade(x);
    });
    await h.startWorker(lost.exchange);
    const rec = await reachStatus(h, id, 'failed');
    expect(rec.reason).toMatch(/^not sent again after an attempt that did not reach the exchange: trading is paused by Dana: venue incident/);
    expect(await h.paper.listOrders()).toHaveLength(0);
    expect(await h.paper.positions()).toHaveLength(0);
    const alert = await eventually(() => h!.notifier.sent.find((s) => s.chatId === ALERT_CHANNEL && s.reply.text?.startsWith('Order failed')));
    expect(alert.reply.text).toContain('trading is paused by Dana');
    const actions = (await h.ctx.audit.latest(20)).map((e) => e.action);
    expect(actions.filter((a) => a === 'order.failed')).toHaveLength(1);
  });

  it.each([
    ['a pause', pause, 'trading is paused by Dana: venue incident'],
    ['a +10% move of mark', markUp10, 'the market moved +10.00% since the preview'],
    ['an extreme cascade', extremeCascade, 'a liquidation cascade (extreme) is running in BTC-PERP: market orders are refused'],
  ] as const)('runs the checks again before a BullMQ retry: %s alone blocks it', async (_name, change, reason) => {
    h = await makeHarness();
    const id = await approvedWithoutWorker(h);
    const lost = firstPostLost(h, change);
    await h.startWorker(lost.exchange);
    const rec = await reachStatus(h, id, 'failed');
    expect(rec.reason).toContain(reason);
    expect(lost.sent).toHaveLength(1);
    expect(await h.paper.listOrders()).toHaveLength(0);
  });

  it('runs the checks again before the reconcile sweep re-sends an order a dead process had marked submitted', async () => {
    h = await makeHarness();
    const id = await approvedWithoutWorker(h);
    // The process died right after `approved → submitted`, before its POST; its job is gone.
    await (await h.ctx.orderQueue.queue.getJob(id))?.remove();
    const t = await h.ctx.approvals.transition(id, ['approved'], 'submitted', h.clock.t, { action: 'order.submitted', detail: 'test: sending', cause: SYSTEM });
    expect(t.ok).toBe(true);
    await pause(h);
    await h.startWorker();
    const rec = await reachStatus(h, id, 'failed');
    expect(rec.reason).toContain('trading is paused by Dana');
    expect(await h.paper.listOrders()).toHaveLength(0);
  });

  it('records the order the exchange already has, even when a pause came after it was accepted', async () => {
    h = await makeHarness();
    const id = await approvedWithoutWorker(h);
    let placed = false;
    let failedLookup = false;
    const base = withPlaceOrder(h.paper, async (req) => {
      await h!.paper.placeOrder(req);
      placed = true;
      await pause(h!);
      throw new ExchangeError('timeout', 'request timed out after 10000 ms');
    });
    // The look-up right after the timeout fails too, so the retry is the one that finds the order.
    const exchange = new Proxy(base, {
      get(target, prop) {
        if (prop === 'listOrders') {
          return async (q?: Parameters<Exchange['listOrders']>[0]) => {
            if (placed && !failedLookup) {
              failedLookup = true;
              throw new ExchangeError('network', 'connect ECONNRESET');
            }
            return target.listOrders(q);
          };
        }
        return Reflect.get(target, prop, target) as unknown;
      },
    });
    await h.startWorker(exchange);
    const rec = await reachStatus(h, id, 'filled');
    expect(rec.result?.filledQuantity).toBe(0.015);
    expect(await h.paper.listOrders()).toHaveLength(1);
    expect(failedLookup).toBe(true);
  });
});
