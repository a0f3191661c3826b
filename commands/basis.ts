import { defineCommand } from './define.js';
import { symbolOption } from './symbol-option.js';
import { basis, annualizedBasis, zScore, basisSignal } from '../src/domain/basis.js';
import { spotSymbolFor } from '../src/domain/symbols.js';
import { isDomainError, unwrap } from '../src/domain/result.js';
import { pct, price } from '../src/format.js';

/** Window of the /basis z-score: 48 samples of the 5-minute basis sampler = 4 hours (domain.md §3). */
export const BASIS_WINDOW = 48;
export const BASIS_SAMPLE_MS = 5 * 60_000;

const SIGNAL_WORDS: Record<string, string> = {
  enter_short_perp: 'Signal: basis rich (z ≥ +2) — short perp / long spot',
  enter_long_perp: 'Signal: basis cheap (z ≤ −2) — long perp / short spot',
  none: 'No signal (|z| < 2)',
};

export default defineCommand({
  name: 'basis',
  description: 'Perp vs spot basis, its z-score over the recent window, and the signal',
  role: 'viewer',
  sideEffect: 'none',
  options: [symbolOption],
  async run(ctx, args) {
    const inst = await ctx.market.resolve(args.symbol);
    const spotSym = unwrap(spotSymbolFor(inst.symbol));
    const [t, s] = await Promise.all([ctx.exchange.ticker(inst.symbol), ctx.exchange.spotTicker(spotSym)]);
    const b = unwrap(basis({ perp: t.markPrice, spot: s.lastPrice }));
    const ann = unwrap(annualizedBasis({ perp: t.markPrice, spot: s.lastPrice, horizonHours: inst.fundingIntervalHours }));
    const now = ctx.now();
    const history = await ctx.samples.basisSince(inst.symbol, now - BASIS_WINDOW * BASIS_SAMPLE_MS * 2);
    const values = [...history.filter((h) => h.ts < now).map((h) => h.basis), b].slice(-BASIS_WINDOW);
    const z = zScore({ values, window: Math.min(BASIS_WINDOW, Math.max(2, values.length)) });
    let zText: string;
    let signal = 'No signal yet';
    if (isDomainError(z)) {
      zText = z.error === 'zero_variance' ? 'flat (no variance in the window)' : `not enough samples yet (${values.length}/${BASIS_WINDOW})`;
    } else {
      zText = `${z.toFixed(2)} over ${values.length} samples`;
      const sig = basisSignal({ z, position: null });
      signal = isDomainError(sig) ? 'No signal' : (SIGNAL_WORDS[sig] ?? sig);
    }
    const full = values.length >= BASIS_WINDOW;
    return {
      title: `Basis ${inst.symbol} vs ${spotSym}`,
      fields: [
        { name: 'Perp mark', value: price(t.markPrice, inst.tickSize), inline: true },
        { name: 'Spot', value: price(s.lastPrice, inst.tickSize), inline: true },
        { name: 'Basis', value: `${pct(b, 4)} (annualised over ${inst.fundingIntervalHours}h: ${pct(ann)})`, inline: true },
        { name: 'z-score', value: zText, inline: true },
        { name: 'Signal', value: full || isDomainError(z) ? signal : `${signal} (window not full: ${values.length}/${BASIS_WINDOW})` },
      ],
      severity: signal.startsWith('Signal') ? 'warning' : 'info',
      footer: `z-score: population sd over the last ${BASIS_WINDOW} samples (5-min sampler, 4 h)`,
    };
  },
});
