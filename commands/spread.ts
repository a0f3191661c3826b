import { defineCommand } from './define.js';
import { symbolOption } from './symbol-option.js';
import { venueNotes, venueTable } from './venue-table.js';
import { pct, utc } from '../src/format.js';
import { BASIS_SAMPLE_EVERY_MS } from '../src/queues/schedulers.js';
import { bestSpread, ESTIMATED_TAKER, fundingRows, SPREAD_HOLD_DAYS, type FundingRow } from '../src/services/venues/funding-table.js';

const HISTORY_MS = 48 * 3600_000;

function feeText(r: FundingRow): string {
  return `${r.venue} ${pct(r.taker, 3)}${r.takerEstimated ? ' (estimate)' : ' (ccxt market data)'}`;
}

function duration(ms: number): string {
  const m = Math.floor(ms / 60_000);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min`;
}

export default defineCommand({
  name: 'spread',
  description: 'Funding across venues per 8h and APR, and the best short/long venue pair after taker fees',
  role: 'viewer',
  sideEffect: 'none',
  slow: true,
  options: [symbolOption],
  async run(ctx, args) {
    const inst = await ctx.market.resolve(args.symbol);
    if (!ctx.venues) {
      return {
        title: `Spread ${inst.symbol}`,
        text: 'Cross-venue funding needs real venues: set MARKET_VENUES to ccxt exchange ids (e.g. MARKET_VENUES=binanceusdm,bybit,okx,hyperliquid; read-only, no keys) and restart. A relay proxy goes in MARKET_VENUES_PROXY_URL.',
        severity: 'info',
      };
    }
    const now = ctx.now();
    const [f, t, outcomes, history] = await Promise.all([
      ctx.exchange.funding(inst.symbol),
      ctx.exchange.ticker(inst.symbol),
      ctx.venues.snapshot(inst.symbol),
      ctx.venues.history.since(inst.symbol, now - HISTORY_MS),
    ]);
    const rows = fundingRows(
      { venue: ctx.exchange.name, rate: f.currentRate, predicted: f.predictedRate, intervalHours: f.fundingIntervalHours, nextFundingTs: f.nextFundingTs, markPrice: t.markPrice },
      outcomes,
    );
    const notes = venueNotes(rows);
    const best = bestSpread(rows, history, BASIS_SAMPLE_EVERY_MS);
    if ('error' in best) {
      return {
        title: `Spread ${inst.symbol}`,
        table: venueTable(rows, now),
        text: ['Fewer than two venues have a funding rate with a known interval: no pair to compare.', ...notes].join('\n'),
        severity: 'warning',
      };
    }
    const { pair, spread, short, long } = best;
    const held = best.heldMs === null
      ? 'no samples yet (the venue sampler stores one every 5 min)'
      : best.heldSince === null
        ? 'not at the last sample: the gap did not cover the fees then'
        : `${duration(best.heldMs!)} (since ${utc(best.heldSince)}, the venue sampler's samples)`;
    const fields = [
      { name: 'Best pair', value: `short ${pair.short} (APR ${pct(pair.shortApr)}) · long ${pair.long} (APR ${pct(pair.longApr)})` },
      { name: 'APR difference', value: pct(spread.grossApr), inline: true },
      { name: `After taker fees in and out (${SPREAD_HOLD_DAYS}-day hold)`, value: pct(spread.netApr), inline: true },
      { name: 'Break-even', value: spread.breakEvenDays === null ? 'never at this gap' : `${spread.breakEvenDays.toFixed(1)} days`, inline: true },
      { name: 'Taker fees (each way)', value: `${feeText(short)}, ${feeText(long)}: ${pct(spread.feeCost, 3)} of notional in and out` },
      { name: 'Gap held', value: held },
    ];
    return {
      title: `Spread ${inst.symbol}`,
      fields,
      table: venueTable(rows, now),
      text: [
        ...notes,
        `Fees count against the APR over a ${SPREAD_HOLD_DAYS}-day hold (fees × 365 / ${SPREAD_HOLD_DAYS}); a fee ccxt does not list is estimated at ${pct(ESTIMATED_TAKER, 3)}.`,
      ].join('\n'),
      severity: spread.netApr > 0 ? 'success' : 'info',
      footer: 'Read-only venue data through ccxt; only the desk’s own exchange is traded.',
    };
  },
});
