import { defineCommand } from './define.js';
import { symbolOption } from './symbol-option.js';
import { readOi, QUADRANT_WORDS } from '../src/services/oi-reading.js';
import { annualize } from '../src/domain/funding.js';
import { unwrap } from '../src/domain/result.js';
import { compactUsd, pct, qty, signedPct } from '../src/format.js';

export default defineCommand({
  name: 'oi',
  description: 'Open interest, its change over the last hour and the OI/price quadrant reading',
  role: 'viewer',
  sideEffect: 'none',
  options: [symbolOption],
  async run(ctx, args) {
    const inst = await ctx.market.resolve(args.symbol);
    const [r, f] = await Promise.all([readOi(ctx.exchange, ctx.samples, inst.symbol, ctx.now()), ctx.exchange.funding(inst.symbol)]);
    const minutes = Math.round(r.spanMs / 60_000);
    const span = minutes >= 59 ? 'last hour' : `last ${minutes} min (history is still building up)`;
    const fields = [
      { name: 'Open interest', value: `${qty(r.openInterest, inst.lotSize)} ${inst.base} (${compactUsd(r.openInterestUsd)})`, inline: true },
      { name: `OI change, ${span}`, value: r.oiChange === null ? 'no history yet' : signedPct(r.oiChange), inline: true },
      { name: `Price change, ${span}`, value: r.priceChange === null ? 'no history yet' : signedPct(r.priceChange), inline: true },
      { name: 'Reading', value: r.quadrant ? `${QUADRANT_WORDS[r.quadrant.quadrant] ?? r.quadrant.quadrant} (${r.quadrant.bias}, ${r.quadrant.strength})` : 'needs at least two samples; ask again in a minute' },
    ];
    const apr = unwrap(annualize({ rate: f.currentRate, intervalHours: f.fundingIntervalHours }));
    const crowded = Math.abs(apr) >= 0.5 && r.oiChange !== null && r.oiChange > 0.05;
    return {
      title: `Open interest ${inst.symbol}`,
      fields,
      text: crowded ? `⚠ Crowded leverage: OI rising fast while funding is extreme (APR ${pct(apr)}). Squeeze risk.` : undefined,
      severity: crowded ? 'warning' : 'info',
    };
  },
});
