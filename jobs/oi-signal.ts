/**
 * Sharp open-interest moves (domain.md §6): when OI changed by more than the threshold over the last hour, an
 * informational "oi" alert with the OI × price quadrant reading. Off by default per destination (`/subscribe`).
 */
import { oiQuadrant } from '../src/domain/oi.js';
import { isDomainError } from '../src/domain/result.js';
import { signedPct } from '../src/format.js';
import type { Instrument } from '../src/exchange/port.js';
import { OI_WINDOW_MS, QUADRANT_WORDS } from '../src/services/oi-reading.js';
import type { JobContext } from './job-context.js';

/** A change measured over less than this much history is not yet an "hourly" move. */
const MIN_SPAN_MS = OI_WINDOW_MS / 2;

/**
 * `venue`: the move was seen on a real venue (the venue sampler), whose samples are kept under `series`
 * (`BTC-PERP@bybit`); the alert names the venue and carries it in `Alert.venue`.
 */
export async function checkOiSignal(ctx: JobContext, inst: Instrument, oiNow: number, priceNow: number, now: number, venue?: { id: string; series: string }): Promise<boolean> {
  const history = await ctx.samples.oiSince(venue?.series ?? inst.symbol, now - OI_WINDOW_MS);
  const base = history.find((s) => s.ts < now && s.oi > 0 && s.price > 0);
  if (!base || now - base.ts < MIN_SPAN_MS) return false;
  const oiChange = oiNow / base.oi - 1;
  if (Math.abs(oiChange) < ctx.tuning.oiSharpMove) return false;
  const priceChange = priceNow / base.price - 1;
  const q = oiQuadrant({ priceChange, oiChange });
  if (isDomainError(q)) return false;
  const span = Math.round((now - base.ts) / 60_000);
  const r = await ctx.alerts.publish({
    key: `oi:${venue ? venue.series : inst.symbol}:${q.quadrant}`,
    kind: 'oi',
    severity: 'info',
    symbol: inst.symbol,
    ...(venue ? { venue: venue.id } : {}),
    title: `Open interest signal — ${inst.symbol}${venue ? ` on ${venue.id}` : ''}: OI ${signedPct(oiChange)} in ${span} min`,
    text: `Sharp open-interest move (threshold ±${(ctx.tuning.oiSharpMove * 100).toFixed(0)}% per hour). Reading: ${QUADRANT_WORDS[q.quadrant] ?? q.quadrant}.`,
    fields: [
      { name: 'OI change', value: signedPct(oiChange), inline: true },
      { name: 'Price change', value: signedPct(priceChange), inline: true },
      { name: 'Window', value: `${span} min`, inline: true },
      { name: 'Quadrant', value: `${q.quadrant} (${q.bias}, ${q.strength})`, inline: true },
    ],
    cooldownMs: OI_WINDOW_MS,
    at: now,
  });
  return r.published;
}
