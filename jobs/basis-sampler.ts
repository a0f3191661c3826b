/**
 * The /basis sampler (domain.md §3): every 5 minutes stores perp-vs-spot basis per symbol (SampleStore.addBasis,
 * which /basis reads), and raises an informational "basis" alert when the z-score over the full window crosses
 * ±2 (entry) or comes back near 0 (exit). Off by default per destination; `/subscribe ... signals:basis`.
 */
import { basis, basisSignal, zScore, type BasisPosition } from '../src/domain/basis.js';
import { isDomainError } from '../src/domain/result.js';
import { spotSymbolFor } from '../src/domain/symbols.js';
import { pct } from '../src/format.js';
import { BASIS_SAMPLE_EVERY_MS } from '../src/queues/schedulers.js';
import { key } from '../src/services/store.js';
import type { Instrument } from '../src/exchange/port.js';
import type { JobContext } from './job-context.js';

export interface BasisOutcome {
  symbol: string;
  basis: number | null;
  z: number | null;
  signal: string | null;
}

export async function runBasisSampler(ctx: JobContext): Promise<BasisOutcome[]> {
  const out: BasisOutcome[] = [];
  for (const inst of await ctx.market.instruments()) {
    try {
      out.push(await sampleOne(ctx, inst));
    } catch (err) {
      ctx.log.warn({ err, symbol: inst.symbol }, 'basis sampler: symbol skipped');
    }
  }
  return out;
}

const SIGNAL_TEXT = {
  enter_short_perp: 'basis rich (z ≥ +2): perp above spot — short perp / long spot',
  enter_long_perp: 'basis cheap (z ≤ −2): perp below spot — long perp / short spot',
} as const;

async function sampleOne(ctx: JobContext, inst: Instrument): Promise<BasisOutcome> {
  const symbol = inst.symbol;
  const spotSym = spotSymbolFor(symbol);
  let spot: number;
  try {
    spot = (await ctx.exchange.spotTicker(spotSym)).lastPrice;
  } catch {
    return { symbol, basis: null, z: null, signal: null }; // a perp without a spot market has no basis
  }
  const mark = (await ctx.exchange.ticker(symbol)).markPrice;
  const b = basis({ perp: mark, spot });
  if (isDomainError(b)) return { symbol, basis: null, z: null, signal: null };
  const now = ctx.now();
  await ctx.samples.addBasis(symbol, { ts: now, basis: b });
  const w = ctx.tuning.basisWindow;
  const history = await ctx.samples.basisSince(symbol, now - w * BASIS_SAMPLE_EVERY_MS * 2);
  const values = history.filter((s) => s.ts <= now).map((s) => s.basis).slice(-w);
  // Alerts wait for a full window: a z-score over a handful of samples flags noise.
  const z = values.length >= w ? zScore({ values, window: w }) : null;
  if (z === null || isDomainError(z)) return { symbol, basis: b, z: null, signal: null };

  const stateKey = key(ctx.store, 'signal', 'basis', symbol);
  const raw = await ctx.store.redis.get(stateKey);
  const position: BasisPosition | null = raw === 'short_perp' || raw === 'long_perp' ? raw : null;
  const sig = basisSignal({ z, position, entryZ: ctx.tuning.basisEntryZ, exitZ: ctx.tuning.basisExitZ });
  if (isDomainError(sig)) return { symbol, basis: b, z, signal: null };
  const fields = [
    { name: 'Basis', value: pct(b, 4), inline: true },
    { name: 'z-score', value: `${z >= 0 ? '+' : ''}${z.toFixed(2)} over ${w} samples`, inline: true },
    { name: 'Spot', value: spotSym, inline: true },
  ];
  if (sig === 'enter_short_perp' || sig === 'enter_long_perp') {
    await ctx.store.redis.set(stateKey, sig === 'enter_short_perp' ? 'short_perp' : 'long_perp');
    await ctx.alerts.publish({
      key: `basis:${symbol}:${sig}`,
      kind: 'basis',
      severity: 'info',
      symbol,
      title: `Basis signal — ${symbol}: ${SIGNAL_TEXT[sig]}`,
      text: `The perp-spot basis is ${Math.abs(z).toFixed(1)} standard deviations from its ${w}-sample mean (5-minute samples).`,
      fields,
      incident: `basis:${symbol}:${now}`,
      cooldownMs: 30 * 60_000,
      at: now,
    });
  } else if (sig === 'exit') {
    await ctx.store.redis.del(stateKey);
    await ctx.alerts.publish({
      key: `basis:${symbol}:exit`,
      kind: 'basis',
      severity: 'info',
      symbol,
      title: `Basis signal over — ${symbol}: back near its mean`,
      text: `The z-score is back to ${z.toFixed(2)} (exit at |z| ≤ ${ctx.tuning.basisExitZ}).`,
      fields,
      cooldownMs: 30 * 60_000,
      at: now,
    });
  }
  return { symbol, basis: b, z, signal: sig };
}
