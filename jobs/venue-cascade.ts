/**
 * Liquidation cascades on a real venue (issue 17): the same detector as the desk's own (domain.md §7) over the
 * venue sampler's OI and mark samples of one venue (`BTC-PERP@bybit`), with its own alert gate and episode per venue.
 * An alert names the venue and carries it in `Alert.venue`, so chats can filter by venue. It informs only: the
 * desk's own limit-only rule follows its own exchange's detector, never another venue's.
 */
import { z } from 'zod';
import { cascadeAlertGate, cascadeLevel, CASCADE_LEVELS, type CascadeLevel, type CascadeLevelName } from '../src/domain/cascade.js';
import { isDomainError } from '../src/domain/result.js';
import { pct, signedPct, utc } from '../src/format.js';
import type { Instrument } from '../src/exchange/port.js';
import type { AlertInput } from '../src/services/alerts/types.js';
import { key } from '../src/services/store.js';
import type { VenueReading } from '../src/venues/types.js';
import { DIRECTION_WORDS, HOT, LastAlert, minutes, rank } from './cascade-detector.js';
import type { JobContext } from './job-context.js';

const Episode = z.object({
  level: z.enum(CASCADE_LEVELS),
  direction: z.enum(['long_liquidation', 'short_squeeze']),
  since: z.number(),
  lastHotAt: z.number(),
  oiChange: z.number(),
  priceChange: z.number(),
});
type Episode = z.infer<typeof Episode>;

export interface VenueCascadeOutcome {
  level: CascadeLevelName;
  alerted: 'new' | 'escalation' | 'cooldown_elapsed' | 'over' | null;
}

/** `series` holds this venue's samples (the caller stored the newest one). */
export async function detectVenueCascade(ctx: JobContext, inst: Instrument, r: VenueReading, series: string, now: number): Promise<VenueCascadeOutcome> {
  const W = ctx.tuning.cascadeWindowMs;
  const cooldown = ctx.tuning.cascadeCooldownMs;
  const samples = (await ctx.samples.oiSince(series, now - 2 * W - 60_000)).filter((s) => s.ts <= now && s.oi > 0 && s.price > 0);
  const prevRaw = await ctx.store.redis.getset(key(ctx.store, 'cascade', 'funding', series), String(r.fundingRate));
  const fundingPrev = prevRaw === null ? null : Number(prevRaw);
  const lvl = cascadeLevel({ samples, windowMs: W, fundingPrev: Number.isFinite(fundingPrev) ? fundingPrev : null, fundingNow: r.fundingRate });
  if (isDomainError(lvl)) return { level: 'none', alerted: null };
  const episodeKey = key(ctx.store, 'cascade', 'venue-episode', series);
  const raw = await ctx.store.redis.get(episodeKey);
  const parsed = raw ? Episode.safeParse(JSON.parse(raw)) : null;
  const episode = parsed?.success ? parsed.data : null;
  const open = episode !== null && now - episode.lastHotAt < cooldown;

  if (HOT.has(lvl.level) && lvl.direction !== 'none') {
    const since = open ? episode.since : now;
    const peak = open && rank(episode.level) > rank(lvl.level) ? episode.level : lvl.level;
    const next: Episode = { level: peak, direction: lvl.direction, since, lastHotAt: now, oiChange: lvl.oiChange ?? 0, priceChange: lvl.priceChange ?? 0 };
    await ctx.store.redis.set(episodeKey, JSON.stringify(next), 'PX', 24 * 3600_000);
    const lastKey = key(ctx.store, 'cascade', 'last', series, lvl.direction);
    const lastRaw = await ctx.store.redis.get(lastKey);
    const last = lastRaw ? LastAlert.safeParse(JSON.parse(lastRaw)) : null;
    const gate = cascadeAlertGate({ level: lvl.level, direction: lvl.direction, nowMs: now, last: last?.success ? last.data : null, cooldownMs: cooldown });
    if (isDomainError(gate) || !gate.send) return { level: lvl.level, alerted: null };
    const pub = await ctx.alerts.publish(venueCascadeAlert(ctx, inst, r.venue, lvl, since, now, samples[0]?.ts ?? now));
    if (!pub.published) return { level: lvl.level, alerted: null };
    await ctx.store.redis.set(lastKey, JSON.stringify({ level: lvl.level, direction: lvl.direction, atMs: now }), 'PX', cooldown);
    return { level: lvl.level, alerted: gate.reason as VenueCascadeOutcome['alerted'] };
  }
  if (episode !== null && !open) {
    const pub = await ctx.alerts.publish(venueOverAlert(ctx, inst, r.venue, episode, now));
    await ctx.store.redis.del(episodeKey);
    return { level: lvl.level, alerted: pub.published ? 'over' : null };
  }
  return { level: lvl.level, alerted: null };
}

function venueCascadeAlert(ctx: JobContext, inst: Instrument, venue: string, lvl: CascadeLevel, since: number, now: number, oldestTs: number): AlertInput {
  const dir = lvl.direction as 'long_liquidation' | 'short_squeeze';
  const window = minutes(ctx.tuning.cascadeWindowMs);
  const span = lvl.reason === 'short_history' ? `over ${minutes(now - oldestTs)} (less than one ${window} window of history)` : `per ${window} window`;
  return {
    key: `cascade:${inst.symbol}@${venue}:${dir}:${lvl.level}`,
    kind: 'cascade',
    severity: lvl.level === 'cascade' ? 'warning' : 'critical',
    symbol: inst.symbol,
    venue,
    title: `Liquidation cascade ${lvl.level === 'cascade' ? '' : `(${lvl.level}) `}on ${venue} — ${inst.symbol}`,
    text: `Seen on ${venue} (read-only market data). Trading on the desk is limit-only only when its own exchange shows a cascade in ${inst.symbol}; check /funding and /oi there before trading.`,
    fields: [
      { name: 'Venue', value: venue, inline: true },
      { name: 'Direction', value: DIRECTION_WORDS[dir] },
      { name: 'OI change', value: `${signedPct(lvl.oiChange ?? 0)} ${span}`, inline: true },
      { name: 'Price change', value: `${signedPct(lvl.priceChange ?? 0)} ${span}`, inline: true },
      { name: 'Window', value: window, inline: true },
      { name: 'Severity', value: `${lvl.level} (score ${(lvl.score ?? 0).toFixed(2)}; cascade ≥ 1, severe ≥ 2, extreme ≥ 3)`, inline: true },
      { name: 'Funding flip', value: lvl.fundingFlip ? 'yes: the funding rate changed sign' : 'no', inline: true },
    ],
    incident: `cascade:${inst.symbol}@${venue}:${dir}:${since}`,
    cooldownMs: ctx.tuning.cascadeCooldownMs,
    at: now,
  };
}

function venueOverAlert(ctx: JobContext, inst: Instrument, venue: string, e: Episode, now: number): AlertInput {
  return {
    key: `cascade-over:${inst.symbol}@${venue}:${e.since}`,
    kind: 'cascade',
    severity: 'success',
    filterSeverity: e.level === 'cascade' ? 'warning' : 'critical',
    symbol: inst.symbol,
    venue,
    title: `Cascade over on ${venue} — ${inst.symbol}`,
    text: `No sample at cascade level on ${venue} for ${minutes(ctx.tuning.cascadeCooldownMs)}: the liquidation cascade there is over.`,
    fields: [
      { name: 'Peak level', value: e.level, inline: true },
      { name: 'Started', value: utc(e.since), inline: true },
      { name: 'Last at cascade level', value: utc(e.lastHotAt), inline: true },
      { name: 'Last OI / price change', value: `${pct(e.oiChange)} / ${pct(e.priceChange)} per window`, inline: true },
    ],
    cooldownMs: 24 * 3600_000,
    at: now,
  };
}
