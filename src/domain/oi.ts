/** Open interest x price quadrant for `/oi` (domain.md §6). */
import { guard, nonNegative } from './input.js';
import { gt, lt } from './numbers.js';
import type { Result } from './result.js';

export type OiQuadrantInput = {
  priceChange: number;
  oiChange: number;
  priceBand?: number | null;
  oiBand?: number | null;
};
export type Quadrant = 'new_longs' | 'short_covering' | 'new_shorts' | 'long_capitulation' | 'neutral';
export type OiQuadrant = {
  quadrant: Quadrant;
  bias: 'bullish' | 'bearish' | 'neutral';
  strength: 'strong' | 'medium' | 'none';
};

const NEUTRAL: OiQuadrant = { quadrant: 'neutral', bias: 'neutral', strength: 'none' };

/** Rising only beyond the band, falling only beyond minus the band: a change exactly at the band is flat. */
function direction(x: number, band: number): -1 | 0 | 1 {
  if (gt(x, band)) return 1;
  if (lt(x, -band)) return -1;
  return 0;
}

export function oiQuadrant(input: OiQuadrantInput): Result<OiQuadrant> {
  return guard(input, (f): OiQuadrant => {
    const priceChange = f.num('priceChange', 'invalid_value');
    const oiChange = f.num('oiChange', 'invalid_value');
    const priceBand = f.opt('priceBand', 'invalid_threshold', 0.001, nonNegative);
    const oiBand = f.opt('oiBand', 'invalid_threshold', 0.001, nonNegative);
    const price = direction(priceChange, priceBand);
    const oi = direction(oiChange, oiBand);
    if (price === 0 || oi === 0) return { ...NEUTRAL };
    if (price === 1) {
      return oi === 1
        ? { quadrant: 'new_longs', bias: 'bullish', strength: 'strong' }
        : { quadrant: 'short_covering', bias: 'bullish', strength: 'medium' };
    }
    return oi === 1
      ? { quadrant: 'new_shorts', bias: 'bearish', strength: 'strong' }
      : { quadrant: 'long_capitulation', bias: 'bearish', strength: 'medium' };
  });
}
