import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { positionChanges, type KnownPosition } from '../../src/domain/position-changes.js';
import { feedStep, type FeedState } from '../../src/domain/feed-staleness.js';

const long = (over: Partial<KnownPosition> = {}): KnownPosition => ({ symbol: 'BTC-PERP', side: 'long', size: 1, entry: 60_000, mark: 60_000, liq: 50_000, margin: 12_000, ...over });
const base = { deskDelta: 0, lotSize: 0.001, markNow: null, cascadeActive: false };

describe('positionChanges', () => {
  it('should read a vanished position whose mark crossed the liquidation price as a liquidation losing the margin', () => {
    expect(positionChanges({ ...base, before: long({ mark: 52_000 }), after: null, markNow: 49_900 })).toEqual([
      { reason: 'liquidation', what: 'closed', side: 'long', quantity: 1, price: 50_000, realizedPnl: -12_000, estimated: false },
    ]);
  });

  it('should count the mark exactly at the liquidation price as crossed, and a short crossing upward', () => {
    const short = long({ side: 'short', liq: 70_000, mark: 69_000 });
    expect((positionChanges({ ...base, before: short, after: null, markNow: 70_000 }) as { reason: string }[])[0]!.reason).toBe('liquidation');
    expect((positionChanges({ ...base, before: short, after: null, markNow: 69_999 }) as { reason: string }[])[0]!.reason).toBe('outside_close');
  });

  it('should read a profitable position shrinking in a cascade or after a sharp move as auto-deleveraging', () => {
    const winning = long({ mark: 66_000 });
    const after = { side: 'long' as const, size: 0.4, entry: 60_000, mark: 66_500 };
    const inCascade = positionChanges({ ...base, before: winning, after, markNow: 66_500, cascadeActive: true });
    expect(inCascade).toEqual([{ reason: 'adl', what: 'reduced', side: 'long', quantity: 0.6, price: 66_500, realizedPnl: expect.closeTo(0.6 * 6_500, 6), estimated: true }]);
    // 66 000 → 67 400 is a 2.1 % move: distress without a cascade.
    expect((positionChanges({ ...base, before: winning, after: { ...after, mark: 67_400 }, markNow: 67_400 }) as { reason: string }[])[0]!.reason).toBe('adl');
    // Calm market: a person took profit.
    expect((positionChanges({ ...base, before: winning, after, markNow: 66_500 }) as { reason: string }[])[0]!.reason).toBe('outside_close');
    // A losing position is never deleveraged: ADL takes winners.
    expect((positionChanges({ ...base, before: long({ mark: 58_000 }), after: { ...after, mark: 57_000 }, markNow: 57_000, cascadeActive: true }) as { reason: string }[])[0]!.reason).toBe('outside_close');
  });

  it('should report growth beyond the desk\'s fills as an outside open, and a flip as a close plus an open', () => {
    expect(positionChanges({ ...base, before: null, after: { side: 'short', size: 0.5, entry: 61_000, mark: 61_000 } })).toEqual([
      { reason: 'outside_open', what: 'opened', side: 'short', quantity: 0.5, price: 61_000, realizedPnl: null, estimated: false },
    ]);
    const flip = positionChanges({ ...base, before: long(), after: { side: 'short', size: 0.5, entry: 61_000, mark: 61_000 }, markNow: 61_000 }) as { reason: string; what: string; quantity: number }[];
    expect(flip.map((c) => [c.reason, c.what, c.quantity])).toEqual([['outside_close', 'closed', 1], ['outside_open', 'opened', 0.5]]);
  });

  it('should report nothing the desk\'s own fills explain, whatever they are (within half a lot)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5000, max: 5000 }), fc.integer({ min: -5000, max: 5000 }), fc.double({ min: -0.0004, max: 0.0004, noNaN: true }), (was, desk, noise) => {
        const lot = 0.001;
        const before = was === 0 ? null : long({ side: was > 0 ? 'long' : 'short', size: Math.abs(was) * lot });
        const net = (was + desk) * lot + noise;
        const after = Math.abs(net) < lot / 2 ? null : { side: net > 0 ? ('long' as const) : ('short' as const), size: Math.abs(net), entry: 60_000, mark: 60_000 };
        const r = positionChanges({ ...base, before, after, deskDelta: desk * lot, lotSize: lot });
        expect(r).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('should name the first bad field instead of throwing', () => {
    expect(positionChanges({ ...base, before: long({ size: Number.NaN }), after: null })).toEqual({ error: 'invalid_size' });
    expect(positionChanges({ ...base, before: null, after: null, lotSize: 0 })).toEqual({ error: 'invalid_lot_size' });
  });
});

describe('feedStep', () => {
  const N = 90_000; // staleAfterMs
  const mark = (ts: number, value: number) => ({ ok: true as const, feed: 'mark' as const, ts, value });

  it('should go stale once when the venue keeps answering with the same old stamp, and recover once', () => {
    let s: FeedState | null = null;
    const events: (string | null)[] = [];
    for (let t = 0; t <= 300_000; t += 30_000) {
      const r = feedStep(s, mark(t < 60_000 ? t : 30_000, 100), t, N);
      s = r.state;
      events.push(r.event);
    }
    expect(events.filter((e) => e === 'stale')).toHaveLength(1);
    expect(s!.staleSince).toBe(30_000);
    const back = feedStep(s, mark(330_000, 100), 330_000, N);
    expect(back.event).toBe('recovered');
    expect(feedStep(back.state, mark(360_000, 101), 360_000, N).event).toBeNull();
  });

  it('should go stale when every call fails, saying so', () => {
    let s: FeedState | null = feedStep(null, mark(0, 1), 0, N).state;
    let r = feedStep(s, { ok: false, feed: 'mark' }, 60_000, N);
    expect(r.event).toBeNull();
    s = r.state;
    r = feedStep(s, { ok: false, feed: 'mark' }, 120_000, N);
    expect(r).toMatchObject({ event: 'stale', cause: 'failing' });
  });

  it('should not call a funding rate stale for staying the same, only for an old funding time or failures', () => {
    let s: FeedState | null = null;
    for (let t = 0; t <= 600_000; t += 30_000) {
      const r = feedStep(s, { ok: true, feed: 'funding', nextFundingTs: 3_600_000, value: 0.0001 }, t, N);
      expect(r.event).toBeNull();
      s = r.state;
    }
    // The venue keeps announcing a stamp long gone.
    const ev: (string | null)[] = [];
    for (let t = 3_600_000; t <= 3_900_000; t += 30_000) {
      const r = feedStep(s, { ok: true, feed: 'funding', nextFundingTs: 3_600_000, value: 0.0001 }, t, N);
      ev.push(r.event);
      s = r.state;
    }
    expect(ev.filter((e) => e === 'stale')).toHaveLength(1);
  });
});
