/**
 * Liquidation-cascade detector (domain.md §7): samples OI and mark per symbol, scores the last window with
 * cascadeLevel (right after start, with less than a window of samples, the raw change since the oldest one:
 * short_history), and alerts through cascadeAlertGate (last alert per symbol and direction in Redis). While a
 * symbol is in cascade it keeps CascadeState fresh, which makes order previews limit-only and stops the harvester;
 * one cooldown after the last hot sample it clears the state and posts one "cascade over" message.
 */
import { z } from 'zod';
import { cascadeAlertGate, cascadeLevel, CASCADE_LEVELS, type CascadeLevel, type CascadeLevelName } from '../src/domain/cascade.js';
import { isDomainError } from '../src/domain/result.js';
import { pct, signedPct, utc } from '../src/format.js';
import type { CascadeRecord } from '../src/services/cascade-state.js';
import { key } from '../src/services/store.js';
import type { FundingInfo, Instrument, OpenInterest, Ticker } from '../src/exchange/port.js';
import type { FeedObservation } from '../src/domain/feed-staleness.js';
import { FeedWatch } from '../src/services/watchdogs/feeds.js';
import type { AlertInput } from '../src/services/alerts/types.js';
import type { JobContext } from './job-context.js';
import { checkOiSignal } from './oi-signal.js';

export const HOT = new Set<CascadeLevelName>(['cascade', 'severe', 'extreme']);
export const LastAlert = z.object({ level: z.enum(CASCADE_LEVELS), direction: z.enum(['long_liquidation', 'short_squeeze', 'none']), atMs: z.number() });

export interface CascadeOutcome {
  symbol: string;
  level: CascadeLevelName;
  alerted: 'new' | 'escalation' | 'cooldown_elapsed' | 'over' | null;
}

export async function runCascadeDetector(ctx: JobContext): Promise<CascadeOutcome[]> {
  const out: CascadeOutcome[] = [];
  for (const inst of await ctx.market.instruments()) {
    try {
      out.push(await detectOne(ctx, inst));
    } catch (err) {
      // One symbol's bad answer must not hide a cascade in another.
      ctx.log.warn({ err, symbol: inst.symbol }, 'cascade detector: symbol skipped');
    }
  }
  return out;
}

async function detectOne(ctx: JobContext, inst: Instrument): Promise<CascadeOutcome> {
  const symbol = inst.symbol;
  const now = ctx.now();
  const W = ctx.tuning.cascadeWindowMs;
  const [t, oi, f] = await sampleFeeds(ctx, symbol, now);
  await ctx.samples.addOi(symbol, { ts: now, oi: oi.openInterest, price: t.markPrice });
  const samples = (await ctx.samples.oiSince(symbol, now - 2 * W - 60_000)).filter((s) => s.ts <= now && s.oi > 0 && s.price > 0);
  const fundingKey = key(ctx.store, 'cascade', 'funding', symbol);
  const prevRaw = await ctx.store.redis.getset(fundingKey, String(f.currentRate));
  const fundingPrev = prevRaw === null ? null : Number(prevRaw);
  const lvl = cascadeLevel({ samples, windowMs: W, fundingPrev: Number.isFinite(fundingPrev) ? fundingPrev : null, fundingNow: f.currentRate });
  if (isDomainError(lvl)) {
    ctx.log.warn({ symbol, error: lvl.error }, 'cascade detector: bad samples');
    return { symbol, level: 'none', alerted: null };
  }
  await checkOiSignal(ctx, inst, oi.openInterest, t.markPrice, now);

  const state = await ctx.cascade.get(symbol);
  const cooldown = ctx.tuning.cascadeCooldownMs;
  const episodeOpen = state !== null && now - state.lastHotAt < cooldown;

  if (HOT.has(lvl.level) && lvl.direction !== 'none') {
    const lastKey = key(ctx.store, 'cascade', 'last', symbol, lvl.direction);
    const lastRaw = await ctx.store.redis.get(lastKey);
    const last = lastRaw ? LastAlert.safeParse(JSON.parse(lastRaw)) : null;
    const gate = cascadeAlertGate({ level: lvl.level, direction: lvl.direction, nowMs: now, last: last?.success ? last.data : null, cooldownMs: cooldown });
    const since = episodeOpen ? state.since : now;
    const peak = episodeOpen && rank(state.level) > rank(lvl.level) ? state.level : lvl.level;
    const rec: CascadeRecord = {
      symbol,
      level: peak as CascadeRecord['level'],
      direction: lvl.direction,
      since,
      lastHotAt: now,
      oiChange: lvl.oiChange ?? 0,
      priceChange: lvl.priceChange ?? 0,
    };
    // Limit-only trading starts before the alert goes out: a reader must never see the alert but a market order pass.
    await ctx.cascade.put(rec);
    if (isDomainError(gate) || !gate.send) return { symbol, level: lvl.level, alerted: null };
    const r = await ctx.alerts.publish(cascadeAlert(ctx, inst, lvl, since, now, samples[0]?.ts ?? now));
    if (r.published) {
      await ctx.store.redis.set(lastKey, JSON.stringify({ level: lvl.level, direction: lvl.direction, atMs: now }), 'PX', cooldown);
      return { symbol, level: lvl.level, alerted: gate.reason as CascadeOutcome['alerted'] };
    }
    return { symbol, level: lvl.level, alerted: null };
  }

  if (state !== null && !episodeOpen) {
    const r = await ctx.alerts.publish(overAlert(ctx, state, now));
    await ctx.cascade.clear(symbol);
    return { symbol, level: lvl.level, alerted: r.published ? 'over' : null };
  }
  return { symbol, level: lvl.level, alerted: null };
}

/**
 * The three feeds this job samples every interval, each also shown to the stale-data watchdog (FeedWatch): an answer
 * with its stamp, or a failure. A failed feed still fails the symbol's run, as before.
 */
async function sampleFeeds(ctx: JobContext, symbol: string, now: number): Promise<[Ticker, OpenInterest, FundingInfo]> {
  const [t, oi, f] = await Promise.allSettled([ctx.exchange.ticker(symbol), ctx.exchange.openInterest(symbol), ctx.exchange.funding(symbol)]);
  const seen: FeedObservation[] = [
    t.status === 'fulfilled' ? { ok: true, feed: 'mark', ts: t.value.ts, value: t.value.markPrice } : { ok: false, feed: 'mark' },
    oi.status === 'fulfilled' ? { ok: true, feed: 'oi', ts: oi.value.ts, value: oi.value.openInterest } : { ok: false, feed: 'oi' },
    f.status === 'fulfilled' ? { ok: true, feed: 'funding', nextFundingTs: f.value.nextFundingTs, value: f.value.currentRate } : { ok: false, feed: 'funding' },
  ];
  const staleAfterMs = ctx.tuning.staleFeedIntervals * ctx.config.CASCADE_INTERVAL_SECONDS * 1000;
  await new FeedWatch(ctx).observe(symbol, seen, now, staleAfterMs).catch((err: unknown) => ctx.log.warn({ err, symbol }, 'stale-data watchdog failed'));
  for (const r of [t, oi, f]) if (r.status === 'rejected') throw r.reason;
  return [(t as PromiseFulfilledResult<Ticker>).value, (oi as PromiseFulfilledResult<OpenInterest>).value, (f as PromiseFulfilledResult<FundingInfo>).value];
}

export function rank(level: CascadeLevelName): number {
  return CASCADE_LEVELS.indexOf(level);
}

export function minutes(ms: number): string {
  const m = ms / 60_000;
  return m >= 1 ? `${Number(m.toFixed(1))} min` : `${Math.round(ms / 1000)} s`;
}

export const DIRECTION_WORDS = {
  long_liquidation: 'long liquidations (price falling while OI unwinds)',
  short_squeeze: 'short squeeze (price rising while OI unwinds)',
} as const;

function cascadeAlert(ctx: JobContext, inst: Instrument, lvl: CascadeLevel, since: number, now: number, oldestTs: number): AlertInput {
  const dir = lvl.direction as 'long_liquidation' | 'short_squeeze';
  const window = minutes(ctx.tuning.cascadeWindowMs);
  // Short history is the raw change since the oldest sample, not a per-window rate: say over how long it happened.
  const span = lvl.reason === 'short_history' ? `over ${minutes(now - oldestTs)} (less than one ${window} window of history)` : `per ${window} window`;
  const extreme = lvl.level === 'extreme';
  const lines = [
    `Trading in ${inst.symbol} is limit-only while the cascade lasts: market orders are refused, limit orders must sit within 0.5% of mark, reduce-only closes go as limits, and the harvester opens nothing.`,
  ];
  if (extreme) lines.push('Extreme level: consider /pause to stop every new order until it calms down.');
  return {
    key: `cascade:${inst.symbol}:${dir}:${lvl.level}`,
    kind: 'cascade',
    severity: lvl.level === 'cascade' ? 'warning' : 'critical',
    symbol: inst.symbol,
    title: `Liquidation cascade ${lvl.level === 'cascade' ? '' : `(${lvl.level}) `}— ${inst.symbol}`,
    text: lines.join('\n'),
    fields: [
      { name: 'Direction', value: DIRECTION_WORDS[dir] },
      { name: 'OI change', value: `${signedPct(lvl.oiChange ?? 0)} ${span}`, inline: true },
      { name: 'Price change', value: `${signedPct(lvl.priceChange ?? 0)} ${span}`, inline: true },
      { name: 'Window', value: window, inline: true },
      { name: 'Severity', value: `${lvl.level} (score ${(lvl.score ?? 0).toFixed(2)}; cascade ≥ 1, severe ≥ 2, extreme ≥ 3)`, inline: true },
      { name: 'Funding flip', value: lvl.fundingFlip ? 'yes: the funding rate changed sign' : 'no', inline: true },
      { name: 'Trading', value: `limit-only in ${inst.symbol}${extreme ? ' — /pause recommended' : ''}`, inline: true },
    ],
    incident: `cascade:${inst.symbol}:${dir}:${since}`,
    cooldownMs: ctx.tuning.cascadeCooldownMs,
    at: now,
  };
}

function overAlert(ctx: JobContext, s: CascadeRecord, now: number): AlertInput {
  return {
    key: `cascade-over:${s.symbol}:${s.since}`,
    kind: 'cascade',
    severity: 'success',
    filterSeverity: s.level === 'cascade' ? 'warning' : 'critical',
    symbol: s.symbol,
    title: `Cascade over — ${s.symbol}`,
    text: `No sample at cascade level for ${minutes(ctx.tuning.cascadeCooldownMs)}: the liquidation cascade in ${s.symbol} is over. Trading is no longer limit-only; market orders are allowed again.`,
    fields: [
      { name: 'Peak level', value: s.level, inline: true },
      { name: 'Started', value: utc(s.since), inline: true },
      { name: 'Last at cascade level', value: utc(s.lastHotAt), inline: true },
      { name: 'Last OI / price change', value: `${pct(s.oiChange)} / ${pct(s.priceChange)} per window`, inline: true },
    ],
    cooldownMs: 24 * 3600_000,
    at: now,
  };
}
