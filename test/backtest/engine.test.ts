import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  backtestHarvester,
  parseBacktestInput,
  runBacktest,
  type BacktestEvent,
  type BacktestMetrics,
} from '../../src/backtest/engine.js';

interface Vector {
  name: string;
  input: unknown;
  expected: Record<string, unknown>;
}
const vectors = JSON.parse(readFileSync(new URL('../fixtures/test-vectors.json', import.meta.url), 'utf8')) as {
  _meta: { tolerance: { relative: number; absolute: number } };
  backtestHarvester: Vector[];
};
const { relative, absolute } = vectors._meta.tolerance;

function expectVectorMatch(actual: unknown, expected: Record<string, unknown>): void {
  const got = actual as Record<string, unknown>;
  for (const [key, want] of Object.entries(expected)) {
    expect(got, `key ${key}`).toHaveProperty(key);
    const value = got[key];
    if (typeof want === 'number') {
      expect(typeof value, `key ${key}`).toBe('number');
      expect(Math.abs((value as number) - want), `key ${key}: ${String(value)} vs ${want}`).toBeLessThanOrEqual(
        Math.max(absolute, relative * Math.abs(want)),
      );
    } else {
      expect(value, `key ${key}`).toEqual(want);
    }
  }
}

const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1); // 2024-01-01T00:00Z
const cents = (x: number): number => Math.round(x * 100) / 100;

describe('backtestHarvester vectors', () => {
  it('has the six vectors of the spec', () => {
    expect(vectors.backtestHarvester).toHaveLength(6);
  });
  for (const v of vectors.backtestHarvester) {
    it(`matches vector: ${v.name}`, () => {
      expectVectorMatch(backtestHarvester(v.input), v.expected);
    });
  }
});

describe('backtestHarvester hand-computed scenarios', () => {
  it('one round trip, held through a funding settlement, closed when the rate decays', () => {
    /*
     * equity 1000, notional 1000, min 50 %, fees 0.1 % both legs; 8h events on 2024-01-01 00/08/16 UTC.
     * E0 r=0.0005 -> ann 0.0005*8760/8 = 54.75 % >= 50 %: enter. qty = 1000/100 = 10.
     *    fee = 10*100*0.001 + 10*99*0.001 = 1 + 0.99 = 1.99; equity = 1000 - 1.99 = 998.01
     * E1 r=0.001, perp 110, spot 109.5: funding 10*110*0.001 = 1.10; ann 109.5 % holds.
     *    unrealised = 10*(100-110) + 10*(109.5-99) = -100 + 105 = 5; equity = 1000 - 1.99 + 1.10 + 5 = 1004.11
     * E2 r=0.0001, perp 105, spot 104.8: funding 10*105*0.0001 = 0.105; ann 10.95 % < 25 %: exit.
     *    price = 10*(100-105) + 10*(104.8-99) = -50 + 58 = 8; fee = 1.05 + 1.048 = 2.098
     *    final = 1000 - 1.99 + 1.10 + 0.105 + 8 - 2.098 = 1005.117
     * funding 1.205, fees -4.088, price 8; return 0.5117 %; apr = 0.005117*8760/16 = 2.8015575
     * drawdown: curve 1000, 998.01, 1004.11, 1005.117 -> 1.99/1000 = 0.00199; one UTC day -> sharpe null.
     */
    const events: BacktestEvent[] = [
      { ts: T0, rate: 0.0005, intervalHours: 8, perp: 100, spot: 99 },
      { ts: T0 + 8 * H, rate: 0.001, intervalHours: 8, perp: 110, spot: 109.5 },
      { ts: T0 + 16 * H, rate: 0.0001, intervalHours: 8, perp: 105, spot: 104.8 },
    ];
    const input = { events, initialEquity: 1000, notional: 1000, perpFeeRate: 0.001, spotFeeRate: 0.001 };
    const r = backtestHarvester(input) as BacktestMetrics;
    expect(cents(r.finalEquity)).toBe(1005.12);
    expect(r.finalEquity).toBeCloseTo(1005.117, 9);
    expect(r.funding).toBeCloseTo(1.205, 9);
    expect(r.fees).toBeCloseTo(-4.088, 9);
    expect(r.pricePnl).toBeCloseTo(8, 9);
    expect(r.totalReturn).toBeCloseTo(0.005117, 12);
    expect(r.apr).toBeCloseTo(2.8015575, 9);
    expect(r.maxDrawdown).toBeCloseTo(0.00199, 12);
    expect(r.sharpe).toBeNull();
    expect(r.trades).toBe(1);

    const parsed = parseBacktestInput(input);
    if ('error' in parsed) throw new Error(parsed.error);
    const run = runBacktest(parsed.series, parsed.params);
    expect(Array.from(run.equity).map(cents)).toEqual([1000, 998.01, 1004.11, 1005.12]);
    expect(run.timeInMarket).toBe(1);
    expect(run.settlementsInMarket).toBe(2);
    expect(run.trades).toHaveLength(1);
    expect(run.trades[0]).toMatchObject({ entryTs: T0, exitTs: T0 + 16 * H, qty: 10, settlements: 2 });
    expect(run.trades[0]?.fees).toBeCloseTo(-4.088, 9);
  });

  it('enters exactly at the threshold, holds exactly at half, pays negative funding, force-closes at the end', () => {
    /*
     * equity 2000, notional 1000, min 109.5 % (= a 0.001/8h rate), fees perp 0.05 %, spot 0.1 %.
     * Day 1 (2024-01-01)
     * E0 00:00 r=0.001 -> ann exactly 109.5 %: enters (>=). perp 200, spot 199.8, qty 5.
     *    fee 5*200*0.0005 + 5*199.8*0.001 = 0.5 + 0.999 = 1.499; equity 1998.501
     * E1 08:00 r=0.0005 -> ann exactly 54.75 % = min/2: holds (exit is strictly below).
     *    funding 5*190*0.0005 = 0.475; unrealised 5*(200-190) + 5*(189.9-199.8) = 50 - 49.5 = 0.5
     *    equity 2000 - 1.499 + 0.475 + 0.5 = 1999.476
     * E2 16:00 r=-0.0002: the short pays 5*195*0.0002 = 0.195; ann -21.9 %: exit.
     *    price 5*(200-195) + 5*(194.7-199.8) = 25 - 25.5 = -0.5; fee 0.4875 + 0.9735 = 1.461
     *    equity 2000 - 1.499 + 0.475 - 0.195 - 0.5 - 1.461 = 1996.82   (= D1)
     * Day 2
     * E3 00:00 r=0.002 -> enter. perp 250, spot 249, qty 4; fee 0.5 + 0.996 = 1.496; equity 1995.324
     * E4 08:00 last event: funding 4*260*0.002 = 2.08; forced close: price 4*(250-260) + 4*(259.5-249) = 2;
     *    fee 4*260*0.0005 + 4*259.5*0.001 = 0.52 + 1.038 = 1.558; final 1995.324 + 2.08 + 2 - 1.558 = 1997.846 (= D2)
     * funding 0.475 - 0.195 + 2.08 = 2.36; fees -(1.499 + 1.461 + 1.496 + 1.558) = -6.014; price -0.5 + 2 = 1.5
     * return -0.001077; apr -0.001077*8760/32 = -0.29482875; drawdown (2000 - 1995.324)/2000 = 0.002338
     * daily returns -0.00159 and 1.026/1996.82 = 0.00051381697; sharpe = mean/sd(N-1)*sqrt(365) = -6.9105024
     * time in market 16 h + 8 h of 32 h = 75 %.
     */
    const events: BacktestEvent[] = [
      { ts: T0, rate: 0.001, intervalHours: 8, perp: 200, spot: 199.8 },
      { ts: T0 + 8 * H, rate: 0.0005, intervalHours: 8, perp: 190, spot: 189.9 },
      { ts: T0 + 16 * H, rate: -0.0002, intervalHours: 8, perp: 195, spot: 194.7 },
      { ts: T0 + 24 * H, rate: 0.002, intervalHours: 8, perp: 250, spot: 249 },
      { ts: T0 + 32 * H, rate: 0.002, intervalHours: 8, perp: 260, spot: 259.5 },
    ];
    const input = { events, initialEquity: 2000, notional: 1000, minAnnRate: 1.095 };
    const r = backtestHarvester(input) as BacktestMetrics;
    expect(cents(r.finalEquity)).toBe(1997.85);
    expect(r.finalEquity).toBeCloseTo(1997.846, 9);
    expect(r.funding).toBeCloseTo(2.36, 9);
    expect(r.fees).toBeCloseTo(-6.014, 9);
    expect(r.pricePnl).toBeCloseTo(1.5, 9);
    expect(r.trades).toBe(2);
    expect(r.apr).toBeCloseTo(-0.29482875, 9);
    expect(r.maxDrawdown).toBeCloseTo(0.002338, 12);
    expect(r.sharpe).toBeCloseTo(-6.910502375406781, 9);

    const parsed = parseBacktestInput(input);
    if ('error' in parsed) throw new Error(parsed.error);
    const run = runBacktest(parsed.series, parsed.params);
    expect(Array.from(run.equity).map(cents)).toEqual([2000, 1998.5, 1999.48, 1996.82, 1995.32, 1997.85]);
    expect(run.timeInMarket).toBeCloseTo(0.75, 12);
    expect(run.trades.map((t) => [t.entryTs, t.exitTs, t.settlements])).toEqual([
      [T0, T0 + 16 * H, 2],
      [T0 + 24 * H, T0 + 32 * H, 1],
    ]);
    // Attribution adds up to the equity change, trade by trade and in total.
    const sum = run.trades.reduce((a, t) => a + t.funding + t.fees + t.pricePnl, 0);
    expect(sum).toBeCloseTo(r.finalEquity - 2000, 9);
  });

  it('never enters on the last event and reports apr null for a single event', () => {
    const r = backtestHarvester({
      events: [{ ts: T0, rate: 0.01, intervalHours: 8, perp: 100, spot: 100 }],
      initialEquity: 1000,
      notional: 1000,
    });
    expect(r).toEqual({
      finalEquity: 1000, totalReturn: 0, apr: null, maxDrawdown: 0, sharpe: null, trades: 0, funding: 0, fees: 0, pricePnl: 0,
    });
    expect(Object.is((r as BacktestMetrics).fees, -0)).toBe(false);
  });
});

describe('backtestHarvester input errors', () => {
  const ok = { ts: 0, rate: 0.001, intervalHours: 8, perp: 100, spot: 100 };
  const base = { events: [ok], initialEquity: 1000, notional: 500 };
  const cases: [string, unknown, string][] = [
    ['not an object', 'x', 'invalid_events'],
    ['events missing', { initialEquity: 1, notional: 1 }, 'invalid_events'],
    ['equity zero', { ...base, initialEquity: 0 }, 'invalid_equity'],
    ['equity missing', { events: [ok], notional: 500 }, 'invalid_equity'],
    ['notional negative', { ...base, notional: -1 }, 'invalid_size'],
    ['threshold zero', { ...base, minAnnRate: 0 }, 'invalid_threshold'],
    ['fee negative', { ...base, perpFeeRate: -0.001 }, 'invalid_fee'],
    ['fee not a number', { ...base, spotFeeRate: '0.001' }, 'invalid_fee'],
    ['interval zero', { ...base, events: [{ ...ok, intervalHours: 0 }] }, 'invalid_events'],
    ['price non-finite', { ...base, events: [{ ...ok, perp: Number.POSITIVE_INFINITY }] }, 'invalid_events'],
    ['duplicate ts', { ...base, events: [ok, ok] }, 'invalid_events'],
    ['boolean rate', { ...base, events: [{ ...ok, rate: true }] }, 'invalid_events'],
  ];
  for (const [name, input, kind] of cases) {
    it(`returns ${kind} when ${name}`, () => {
      expect(backtestHarvester(input)).toEqual({ error: kind });
    });
  }

  it('takes the defaults when optional params are null', () => {
    const v = vectors.backtestHarvester[1] as Vector;
    const input = { ...(v.input as object), minAnnRate: null, perpFeeRate: null, spotFeeRate: null };
    expectVectorMatch(backtestHarvester(input), v.expected);
  });
});

describe('runBacktest options', () => {
  it('writes the curve into a reused buffer and gives the same metrics without trade records', () => {
    const v = vectors.backtestHarvester[0] as Vector;
    const parsed = parseBacktestInput(v.input);
    if ('error' in parsed) throw new Error(parsed.error);
    const n = parsed.series.ts.length;
    const buffer = new Float64Array(n + 1);
    const lean = runBacktest(parsed.series, parsed.params, { equityOut: buffer, recordTrades: false });
    const full = runBacktest(parsed.series, parsed.params);
    expect(lean.equity).toBe(buffer);
    expect(Array.from(lean.equity)).toEqual(Array.from(full.equity));
    expect(lean.metrics).toEqual(full.metrics);
    expect(lean.trades).toEqual([]);
    expect(full.trades).toHaveLength(2);
    expect(() => runBacktest(parsed.series, parsed.params, { equityOut: new Float64Array(n) })).toThrow(RangeError);
  });
});
