/** Cross-venue funding math (issue 17), checked against domain.md §1: apr = r × 8760 / h, per8h = r × 8 / h. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bestFundingPair, deskSymbolOf, gapHeld, intervalHoursOf, isDomainError, normalizeRate, spreadAfterFees, unwrap, venueSymbolCandidates,
} from '../../src/domain/index.js';

describe('normalising venue rates (domain.md §1)', () => {
  it('puts an hourly, a 4-hourly and an 8-hourly rate on per-8h and simple APR', () => {
    // Seed checks of §1: 0.01 %/8h is 10.95 % APR, 0.01 %/1h is 87.6 %.
    expect(unwrap(normalizeRate({ rate: 0.0001, intervalHours: 8 })).apr).toBeCloseTo(0.1095, 12);
    expect(unwrap(normalizeRate({ rate: 0.0001, intervalHours: 1 })).apr).toBeCloseTo(0.876, 12);
    expect(unwrap(normalizeRate({ rate: 0.0001, intervalHours: 1 })).per8h).toBeCloseTo(0.0008, 12);
    expect(unwrap(normalizeRate({ rate: 0.0001, intervalHours: 4 })).per8h).toBeCloseTo(0.0002, 12);
  });

  it('reads a venue interval from ccxt text and refuses anything else', () => {
    expect(intervalHoursOf('8h')).toBe(8);
    expect(intervalHoursOf('1h')).toBe(1);
    expect(intervalHoursOf('480m')).toBe(8);
    expect(intervalHoursOf('')).toBeNull();
    expect(intervalHoursOf(undefined)).toBeNull();
    expect(intervalHoursOf('0h')).toBeNull();
    expect(intervalHoursOf('8 hours')).toBeNull();
  });
});

describe('bestFundingPair', () => {
  it('shorts the highest APR and longs the lowest', () => {
    const p = unwrap(bestFundingPair([{ venue: 'paper', apr: 0.1 }, { venue: 'bybit', apr: 0.3 }, { venue: 'okx', apr: -0.05 }]));
    expect(p).toEqual({ short: 'bybit', long: 'okx', shortApr: 0.3, longApr: -0.05, grossApr: 0.35 });
  });

  it('keeps the earlier venue on a tie, and pairs two venues even when all are equal', () => {
    const p = unwrap(bestFundingPair([{ venue: 'paper', apr: 0.1 }, { venue: 'okx', apr: 0.1 }]));
    expect(p.short).toBe('paper');
    expect(p.long).toBe('okx');
    expect(p.grossApr).toBe(0);
  });

  it('needs two venues and finite rates', () => {
    expect(bestFundingPair([{ venue: 'okx', apr: 0.1 }])).toEqual({ error: 'insufficient_data' });
    expect(bestFundingPair([{ venue: 'okx', apr: Number.NaN }, { venue: 'bybit', apr: 0 }])).toEqual({ error: 'invalid_rate' });
  });

  it('never has a negative gross gap', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 2, maxLength: 8 }), (aprs) => {
      const p = unwrap(bestFundingPair(aprs.map((apr, i) => ({ venue: `v${i}`, apr }))));
      expect(p.grossApr).toBeGreaterThanOrEqual(0);
      expect(p.short === p.long).toBe(false);
    }));
  });
});

describe('spreadAfterFees', () => {
  it('takes taker fees in and out of both legs over the holding period', () => {
    // 30 % vs 5 % APR; 0.05 % + 0.045 % taker: fees 2 × 0.00095 = 0.19 % of notional, over 7 days 9.907 % APR.
    const s = unwrap(spreadAfterFees({ shortApr: 0.3, longApr: 0.05, shortTaker: 0.0005, longTaker: 0.00045, holdDays: 7 }));
    expect(s.grossApr).toBeCloseTo(0.25, 12);
    expect(s.feeCost).toBeCloseTo(0.0019, 12);
    expect(s.netApr).toBeCloseTo(0.25 - (0.0019 * 365) / 7, 12);
    expect(s.breakEvenDays).toBeCloseTo((0.0019 * 365) / 0.25, 12);
  });

  it('has no break-even when the gap pays nothing', () => {
    expect(unwrap(spreadAfterFees({ shortApr: 0.1, longApr: 0.1, shortTaker: 0.0005, longTaker: 0.0005, holdDays: 7 })).breakEvenDays).toBeNull();
  });

  it('names the bad field', () => {
    expect(spreadAfterFees({ shortApr: 0.1, longApr: 0, shortTaker: -0.0001, longTaker: 0, holdDays: 7 })).toEqual({ error: 'invalid_fee' });
    expect(spreadAfterFees({ shortApr: 0.1, longApr: 0, shortTaker: 0.5, longTaker: 0, holdDays: 7 })).toEqual({ error: 'invalid_fee' });
    expect(spreadAfterFees({ shortApr: 0.1, longApr: 0, shortTaker: 0, longTaker: 0, holdDays: 0 })).toEqual({ error: 'invalid_horizon' });
    expect(spreadAfterFees({ shortApr: Number.POSITIVE_INFINITY, longApr: 0, shortTaker: 0, longTaker: 0, holdDays: 7 })).toEqual({ error: 'invalid_rate' });
  });

  it('never nets more than the gross gap', () => {
    const fee = fc.double({ min: 0, max: 0.01, noNaN: true });
    fc.assert(fc.property(fc.double({ min: -3, max: 3, noNaN: true }), fc.double({ min: -3, max: 3, noNaN: true }), fee, fee, fc.double({ min: 0.1, max: 365, noNaN: true }),
      (a, b, f1, f2, d) => {
        const s = unwrap(spreadAfterFees({ shortApr: a, longApr: b, shortTaker: f1, longTaker: f2, holdDays: d }));
        expect(s.netApr).toBeLessThanOrEqual(s.grossApr + 1e-12);
      }));
  });
});

describe('gapHeld', () => {
  const H = 3_600_000;
  it('measures the run of qualifying samples ending at the newest one', () => {
    const samples = [{ ts: 0, gap: 0.3 }, { ts: H, gap: -0.1 }, { ts: 2 * H, gap: 0.2 }, { ts: 3 * H, gap: 0.25 }, { ts: 4 * H, gap: 0.2 }];
    expect(unwrap(gapHeld({ samples, minGap: 0.1, maxStepMs: 1.5 * H }))).toEqual({ heldMs: 2 * H, sinceTs: 2 * H });
  });

  it('is 0 when the newest sample is below the threshold, and counts exactly-at-threshold as held', () => {
    expect(unwrap(gapHeld({ samples: [{ ts: 0, gap: 0.3 }, { ts: H, gap: 0.05 }], minGap: 0.1, maxStepMs: 2 * H }))).toEqual({ heldMs: 0, sinceTs: null });
    expect(unwrap(gapHeld({ samples: [{ ts: 0, gap: 0.1 }, { ts: H, gap: 0.1 }], minGap: 0.1, maxStepMs: 2 * H })).heldMs).toBe(H);
    expect(unwrap(gapHeld({ samples: [], minGap: 0, maxStepMs: H }))).toEqual({ heldMs: 0, sinceTs: null });
  });

  it('does not bridge a hole in the samples', () => {
    const samples = [{ ts: 0, gap: 0.3 }, { ts: 5 * H, gap: 0.3 }, { ts: 6 * H, gap: 0.3 }];
    expect(unwrap(gapHeld({ samples, minGap: 0.1, maxStepMs: 2 * H }))).toEqual({ heldMs: H, sinceTs: 5 * H });
  });

  it('refuses unordered samples', () => {
    expect(isDomainError(gapHeld({ samples: [{ ts: H, gap: 1 }, { ts: 0, gap: 1 }], minGap: 0, maxStepMs: H }))).toBe(true);
  });
});

describe('venue symbols', () => {
  it('maps the desk perp to USDT- and USDC-margined linear perps and back', () => {
    expect(venueSymbolCandidates('BTC-PERP')).toEqual(['BTC/USDT:USDT', 'BTC/USDC:USDC']);
    expect(deskSymbolOf('BTC/USDT:USDT')).toBe('BTC-PERP');
    expect(deskSymbolOf('ETH/USDC:USDC')).toBe('ETH-PERP');
  });

  it('leaves dated, inverse and spot symbols alone', () => {
    expect(deskSymbolOf('BTC/USDT:USDT-250328')).toBeNull();
    expect(deskSymbolOf('BTC/USD:BTC')).toBeNull();
    expect(deskSymbolOf('BTC/USDT')).toBeNull();
    expect(venueSymbolCandidates('BTC-USD')).toEqual([]);
  });
});
