/**
 * How the cross-venue funding rows read in chat (`/funding`, `/spread`): one table row per venue, the desk's own
 * exchange first, and a line for each venue that failed saying why, or whose interval is unknown.
 */
import { formatCountdown } from '../src/domain/funding.js';
import type { ReplyTable } from '../src/chat/reply.js';
import { pct, ratePct } from '../src/format.js';
import { failureCell, type FundingRow } from '../src/services/venues/funding-table.js';

export function venueTable(rows: readonly FundingRow[], now: number): ReplyTable {
  return {
    headers: ['Venue', 'Rate', 'Int', 'Predicted', 'Per 8h', 'APR', 'Next in'],
    align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows: rows.map((r) => {
      const name = r.own ? `${r.venue} (desk)` : r.venue;
      if (r.failure) return [name, failureCell(r.failure), '', '', '', '', ''];
      const rate = r.rate === null ? '—' : ratePct(r.rate);
      const predicted = r.predicted !== null ? ratePct(r.predicted) : r.rate !== null ? `${ratePct(r.rate)} est.` : '—';
      const next = r.nextFundingTs === null ? '?' : r.nextFundingTs <= now ? 'due' : formatCountdown(r.nextFundingTs - now);
      return [
        name,
        rate,
        r.intervalHours === null ? '?' : `${r.intervalHours}h`,
        predicted,
        r.per8h === null ? '—' : ratePct(r.per8h),
        r.apr === null ? '—' : pct(r.apr, 2),
        next,
      ];
    }),
  };
}

/** Why a row is short of numbers, one line per venue; empty when every venue answered in full. */
export function venueNotes(rows: readonly FundingRow[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.failure) out.push(`${r.venue}: ${r.failure.detail}.`);
    else if (r.intervalHours === null) out.push(`${r.venue}: the venue did not say its funding interval, so its rate is not normalised (per 8h, APR unknown).`);
  }
  return out;
}
