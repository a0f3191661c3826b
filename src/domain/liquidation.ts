/** Liquidation prices (simple isolated and Binance tiered), maintenance amounts and the buffer rule (§4). */
import { Fields, fail, guard, nonNegative, out, positive, unitInterval, type Sign } from './input.js';
import { gte } from './numbers.js';
import type { Result } from './result.js';

export type Side = 'long' | 'short';

/**
 * First-order isolated liquidation price `entry * (1 -/+ IM +/- MM)`, or null when it would be <= 0.
 * 'too_high' when MM >= IM: the position would be liquidated at entry.
 */
export function isolatedLiq(s: Sign, entry: number, leverage: number, mmr: number): number | null | 'too_high' {
  const im = 1 / leverage;
  if (gte(mmr, im)) return 'too_high';
  const liq = s === 1 ? entry * (1 - im + mmr) : entry * (1 + im - mmr);
  return liq > 0 ? liq : null;
}

export type LiqPriceIsolatedInput = { side: Side; entry: number; leverage: number; mmr: number };

export function liqPriceIsolated(input: LiqPriceIsolatedInput): Result<number | null> {
  return guard(input, (f) => {
    const s = f.side();
    const entry = f.num('entry', 'invalid_price', positive);
    const leverage = f.num('leverage', 'invalid_leverage', (v) => v >= 1);
    const mmr = f.num('mmr', 'invalid_margin_rate', unitInterval);
    const liq = isolatedLiq(s, entry, leverage, mmr);
    if (liq === 'too_high') return fail('leverage_too_high');
    return liq === null ? null : out(liq);
  });
}

/** A tier that is not an object reads as all-missing, so it fails as invalid_tiers like any bad field. */
function tierFields(t: unknown): Fields {
  return new Fields(t);
}

export type BracketInput = { minNotional: number; mmr: number };
export type MaintenanceAmountsInput = { tiers: BracketInput[] };

/**
 * Binance maintenance amounts `cum_k = cum_{k-1} + minNotional_k * (MMR_k - MMR_{k-1})`, `cum_1 = 0`: the values
 * that make `notional * MMR - cum` continuous across brackets.
 */
export function maintenanceAmounts(input: MaintenanceAmountsInput): Result<number[]> {
  return guard(input, (f) => {
    const tiers = f.raw('tiers');
    if (!Array.isArray(tiers) || tiers.length === 0) fail('invalid_tiers');
    const amounts: number[] = [];
    let cum = 0;
    let prevLo = 0;
    let prevMmr = 0;
    tiers.forEach((t: unknown, k) => {
      const tf = tierFields(t);
      const lo = tf.num('minNotional', 'invalid_tiers', nonNegative);
      const mmr = tf.num('mmr', 'invalid_tiers', unitInterval);
      if (k === 0) {
        if (lo !== 0) fail('invalid_tiers');
      } else {
        if (lo <= prevLo || mmr <= prevMmr) fail('invalid_tiers');
        cum += lo * (mmr - prevMmr);
      }
      amounts.push(out(cum));
      prevLo = lo;
      prevMmr = mmr;
    });
    return amounts;
  });
}

export type Tier = { minNotional: number; maxNotional: number; mmr: number; maintAmount: number };

/** Brackets must start at 0, be contiguous (`min_k = max_{k-1}`) and have strictly increasing MMR. */
function readTiers(raw: unknown): Tier[] {
  if (!Array.isArray(raw) || raw.length === 0) fail('invalid_tiers');
  const tiers: Tier[] = [];
  let prevMax = 0;
  let prevMmr = -1;
  for (const t of raw as unknown[]) {
    const tf = tierFields(t);
    const minNotional = tf.num('minNotional', 'invalid_tiers', nonNegative);
    const mmr = tf.num('mmr', 'invalid_tiers', unitInterval);
    const maxNotional = tf.num('maxNotional', 'invalid_tiers', (v) => v > minNotional);
    const maintAmount = tf.num('maintAmount', 'invalid_tiers', nonNegative);
    if (minNotional !== prevMax || mmr <= prevMmr) fail('invalid_tiers');
    prevMax = maxNotional;
    prevMmr = mmr;
    tiers.push({ minNotional, maxNotional, mmr, maintAmount });
  }
  return tiers;
}

/** Tier membership with float slack: at a bracket boundary both tiers give the same price (§4). */
function within(n: number, lo: number, hi: number): boolean {
  const slack = (x: number): number => 1e-12 * Math.max(1, Math.abs(x));
  return n >= lo - slack(lo) && n <= hi + slack(hi);
}

export type LiqPriceTieredInput = {
  side: Side;
  qty: number;
  entry: number;
  walletBalance: number;
  otherMaintenance?: number | null;
  otherUnrealizedPnl?: number | null;
  mmr?: number | null;
  maintAmount?: number | null;
  tiers?: Tier[] | null;
};

export type TieredLiq = { liqPrice: number; mmr: number; maintAmount: number } | { liqPrice: null };

/**
 * Binance USDⓈ-M: `LP = (WB - TMM1 + UPNL1 + cum - s*qty*entry) / (qty*MMR - s*qty)`, with the bracket chosen at
 * the liquidation price, not at entry. WB is the isolated margin or the cross wallet balance.
 */
export function liqPriceTiered(input: LiqPriceTieredInput): Result<TieredLiq> {
  return guard(input, (f): TieredLiq => {
    const s = f.side();
    const qty = f.num('qty', 'invalid_size', positive);
    const entry = f.num('entry', 'invalid_price', positive);
    const wb = f.num('walletBalance', 'invalid_balance', nonNegative);
    const tmm = f.opt('otherMaintenance', 'invalid_balance', 0, nonNegative);
    const upnl = f.opt('otherUnrealizedPnl', 'invalid_balance', 0);
    const base = wb - tmm + upnl;
    const lp = (mmr: number, cum: number): number => (base + cum - s * qty * entry) / (qty * (mmr - s));
    const found = (liqPrice: number, mmr: number, maintAmount: number): TieredLiq => ({
      liqPrice: out(liqPrice),
      mmr: out(mmr),
      maintAmount: out(maintAmount),
    });

    if (f.has('tiers')) {
      const tiers = readTiers(f.raw('tiers'));
      const first = tiers[0] as Tier;
      if (lp(first.mmr, first.maintAmount) <= 0) return { liqPrice: null };
      for (const t of tiers) {
        const p = lp(t.mmr, t.maintAmount);
        if (p > 0 && within(qty * p, t.minNotional, t.maxNotional)) return found(p, t.mmr, t.maintAmount);
      }
      return fail('outside_tiers');
    }
    const mmr = f.num('mmr', 'invalid_margin_rate', unitInterval);
    const cum = f.opt('maintAmount', 'invalid_balance', 0, nonNegative);
    const p = lp(mmr, cum);
    return p > 0 ? found(p, mmr, cum) : { liqPrice: null };
  });
}

export type LiqBufferInput = { side: Side; mark: number; liqPrice: number | null; minBuffer?: number | null };
export type LiqBuffer = { buffer: number | null; ok: boolean };

/** Distance from mark to liquidation as a fraction of mark; ok when at least `minBuffer` (10 % passes). */
export function liqBuffer(input: LiqBufferInput): Result<LiqBuffer> {
  return guard(input, (f) => {
    const s = f.side();
    const mark = f.num('mark', 'invalid_price', positive);
    const minBuffer = f.opt('minBuffer', 'invalid_threshold', 0.1, unitInterval);
    if (!f.has('liqPrice')) return { buffer: null, ok: true };
    const liq = f.num('liqPrice', 'invalid_price', positive);
    const buffer = out(bufferOf(s, mark, liq));
    return { buffer, ok: gte(buffer, minBuffer) };
  });
}

/** Long `(mark - liq) / mark`, short `(liq - mark) / mark`; negative means already past liquidation. */
export function bufferOf(s: Sign, mark: number, liq: number): number {
  return s === 1 ? (mark - liq) / mark : (liq - mark) / mark;
}
