/** Liquidation-cascade detection and alert de-duplication (domain.md §7). */
import { Fields, fail, guard, isFiniteNumber, nonNegative, out, positive } from './input.js';
import { gt, gte, lt } from './numbers.js';
import type { Result } from './result.js';

export type CascadeSeedRuleInput = {
  oiPrev: number;
  oiNow: number;
  pricePrev: number;
  priceNow: number;
  oiDropThreshold?: number | null;
  priceMoveThreshold?: number | null;
};

/** The seed's two-sample rule, kept for comparison: OI drop beyond 3 % and a price move beyond 2 %, both strict. */
export function cascadeSeedRule(input: CascadeSeedRuleInput): Result<boolean> {
  return guard(input, (f) => {
    const oiPrev = f.num('oiPrev', 'invalid_oi', positive);
    const oiNow = f.num('oiNow', 'invalid_oi', nonNegative);
    const pricePrev = f.num('pricePrev', 'invalid_price', positive);
    const priceNow = f.num('priceNow', 'invalid_price', positive);
    const oiDrop = f.opt('oiDropThreshold', 'invalid_threshold', 0.03, positive);
    const priceMove = f.opt('priceMoveThreshold', 'invalid_threshold', 0.02, positive);
    const oiChange = (oiNow - oiPrev) / oiPrev;
    const priceChange = (priceNow - pricePrev) / pricePrev;
    return lt(oiChange, -oiDrop) && gt(Math.abs(priceChange), priceMove);
  });
}

export const CASCADE_LEVELS = ['none', 'watch', 'cascade', 'severe', 'extreme'] as const;
export type CascadeLevelName = (typeof CASCADE_LEVELS)[number];
export type CascadeDirection = 'long_liquidation' | 'short_squeeze' | 'none';
export type CascadeReason = 'ok' | 'short_history' | 'insufficient_data' | 'stale_data';

export type OiSample = { ts: number; oi: number; price: number };
export type CascadeLevelInput = {
  samples: OiSample[];
  windowMs?: number | null;
  oiDropThreshold?: number | null;
  priceMoveThreshold?: number | null;
  fundingPrev?: number | null;
  fundingNow?: number | null;
};
export type CascadeLevel = {
  level: CascadeLevelName;
  direction: CascadeDirection;
  score: number | null;
  oiChange: number | null;
  priceChange: number | null;
  fundingFlip: boolean;
  reason: CascadeReason;
};

function readSamples(raw: unknown): OiSample[] {
  if (!Array.isArray(raw)) fail('invalid_samples');
  const samples: OiSample[] = [];
  for (const item of raw as unknown[]) {
    const sf = new Fields(item);
    const sample = {
      ts: sf.num('ts', 'invalid_samples', nonNegative),
      oi: sf.num('oi', 'invalid_samples', positive),
      price: sf.num('price', 'invalid_samples', positive),
    };
    const prev = samples[samples.length - 1];
    if (prev !== undefined && sample.ts <= prev.ts) fail('invalid_samples');
    samples.push(sample);
  }
  return samples;
}

function noSignal(reason: CascadeReason): CascadeLevel {
  return { level: 'none', direction: 'none', score: null, oiChange: null, priceChange: null, fundingFlip: false, reason };
}

function levelOf(score: number): CascadeLevelName {
  if (gte(score, 3)) return 'extreme';
  if (gte(score, 2)) return 'severe';
  if (gte(score, 1)) return 'cascade';
  if (gte(score, 0.5)) return 'watch';
  return 'none';
}

/**
 * Compares the newest sample with the latest one at least a window old, scaling both changes to "per window" so
 * the score does not depend on the sampling period. With less than a window of history (first start) it compares
 * with the oldest sample, unscaled (reason short_history), so a cascade in the first minutes is not missed. Needs
 * OI falling *and* price moving: a price move alone fires far too often, and rising OI on a big move is new
 * positioning, not liquidation.
 */
export function cascadeLevel(input: CascadeLevelInput): Result<CascadeLevel> {
  return guard(input, (f): CascadeLevel => {
    const windowMs = f.opt('windowMs', 'invalid_window', 300_000, positive);
    const oiDrop = f.opt('oiDropThreshold', 'invalid_threshold', 0.03, positive);
    const priceMove = f.opt('priceMoveThreshold', 'invalid_threshold', 0.02, positive);
    const samples = readSamples(f.raw('samples'));
    const oldest = samples[0];
    const now = samples[samples.length - 1];
    if (oldest === undefined || now === undefined || samples.length < 2) return noSignal('insufficient_data');
    let base: OiSample | undefined;
    for (const s of samples) if (s.ts <= now.ts - windowMs) base = s;
    let k = 1;
    let reason: CascadeReason = 'ok';
    if (base === undefined) {
      // Less than a window of history (first start): the raw change since the oldest sample, never scaled up. A
      // drop this big in under a window is at least as fast as the threshold; scaling it up would alert on noise.
      base = oldest;
      reason = 'short_history';
    } else {
      const elapsed = now.ts - base.ts;
      if (elapsed > 2 * windowMs) return noSignal('stale_data');
      k = windowMs / elapsed;
    }
    const oiRate = ((now.oi - base.oi) / base.oi) * k;
    const pxRate = ((now.price - base.price) / base.price) * k;
    let score = Math.min(Math.max(0, -oiRate) / oiDrop, Math.abs(pxRate) / priceMove);
    const fp = f.raw('fundingPrev');
    const fn = f.raw('fundingNow');
    // Funding flipping sign while OI unwinds means one side was forced out; it lifts an existing signal only.
    const fundingFlip = isFiniteNumber(fp) && isFiniteNumber(fn) && fp !== 0 && fn !== 0 && fp > 0 !== fn > 0;
    if (fundingFlip && gte(score, 0.5)) score += 0.5;
    const direction: CascadeDirection = pxRate < 0 ? 'long_liquidation' : pxRate > 0 ? 'short_squeeze' : 'none';
    return {
      level: levelOf(score),
      direction,
      score: out(score),
      oiChange: out(oiRate),
      priceChange: out(pxRate),
      fundingFlip,
      reason,
    };
  });
}

export type LastCascadeAlert = { level: CascadeLevelName; direction: CascadeDirection; atMs: number };
export type CascadeAlertGateInput = {
  level: CascadeLevelName;
  direction: CascadeDirection;
  nowMs: number;
  last?: LastCascadeAlert | null;
  cooldownMs?: number | null;
};
export type CascadeAlertReason = 'new' | 'escalation' | 'cooldown_elapsed' | 'duplicate' | 'below_alert_level';
export type CascadeAlertDecision = { send: boolean; reason: CascadeAlertReason };

function levelIndex(level: unknown): number {
  const i = CASCADE_LEVELS.indexOf(level as CascadeLevelName);
  return i >= 0 ? i : fail('invalid_level');
}

/** Whether to announce a level, given the last alert for this symbol and direction. */
export function cascadeAlertGate(input: CascadeAlertGateInput): Result<CascadeAlertDecision> {
  return guard(input, (f): CascadeAlertDecision => {
    const level = levelIndex(f.raw('level'));
    const direction = f.raw('direction');
    if (direction !== 'long_liquidation' && direction !== 'short_squeeze' && direction !== 'none') {
      fail('invalid_direction');
    }
    const nowMs = f.num('nowMs', 'invalid_time', nonNegative);
    const cooldownMs = f.opt('cooldownMs', 'invalid_threshold', 600_000, positive);
    const rawLast = f.raw('last') ?? null;
    if (rawLast !== null && (typeof rawLast !== 'object' || Array.isArray(rawLast))) fail('invalid_last');
    if (level < CASCADE_LEVELS.indexOf('cascade')) return { send: false, reason: 'below_alert_level' };
    const last = rawLast === null ? null : new Fields(rawLast);
    if (last === null || last.raw('direction') !== direction) return { send: true, reason: 'new' };
    const lastLevel = levelIndex(last.raw('level'));
    const atMs = last.num('atMs', 'invalid_time', nonNegative);
    if (level > lastLevel) return { send: true, reason: 'escalation' };
    if (nowMs - atMs >= cooldownMs) return { send: true, reason: 'cooldown_elapsed' };
    return { send: false, reason: 'duplicate' };
  });
}
