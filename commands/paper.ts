/**
 * `/paper cascade|price|funding|reset|partial|resting|reject|normal|stale|fail|live [symbol] [value]` (admin, paper only): the
 * paper exchange's scenario controls, so a team can rehearse: `/paper cascade BTC-PERP` and the cascade alert and
 * limit-only trading follow; `/paper partial BTC-PERP 0.3` and the next order fills 30 % with the rest left open.
 */
import { defineCommand } from './define.js';
import { UserError } from '../src/errors.js';
import { pct, price } from '../src/format.js';
import type { Exchange } from '../src/exchange/port.js';
import { DEFAULT_TUNING } from '../src/config/tuning.js';
import { spotSymbolFor } from '../src/domain/symbols.js';

const DEFAULT_PARTIAL = 0.5;

/** The scenario side of the paper exchange, seen structurally so commands need not import the implementation. */
export interface ScenarioControls {
  setPrice(symbol: string, price: number): Promise<void>;
  setFunding(symbol: string, rate: number | null): Promise<void>;
  startCascade(symbol: string, opts: { oiDropPct: number; priceDropPct: number; steps: number }): Promise<void>;
  reset(): Promise<void>;
  setFillModel(symbol: string, mode: FillVerb, fraction?: number): Promise<void>;
  setFeedMode(symbol: string, feed: 'all', mode: FeedVerb): Promise<void>;
}

/** Market-data feeds gone bad, to rehearse the stale-data watchdog: `stale` repeats old data, `fail` answers 503. */
const FEED_VERBS = ['stale', 'fail', 'live'] as const;
type FeedVerb = (typeof FEED_VERBS)[number];

function isFeedVerb(action: string): action is FeedVerb {
  return (FEED_VERBS as readonly string[]).includes(action);
}

/** Fill models a venue can show: the verbs of `/paper` that set them (paper/fill-models.ts). */
const FILL_VERBS = ['partial', 'resting', 'reject', 'normal'] as const;
type FillVerb = (typeof FILL_VERBS)[number];

function isFillVerb(action: string): action is FillVerb {
  return (FILL_VERBS as readonly string[]).includes(action);
}

function fillModelText(sym: string, mode: FillVerb, fraction: number): string {
  switch (mode) {
    case 'partial':
      return `Market and crossing orders in ${sym} now fill ${pct(fraction, 0)} on arrival; the rest stays open (partially_filled) until /paper normal ${sym}, then fills at the next market move.`;
    case 'resting':
      return `Market and crossing orders in ${sym} are now accepted but fill nothing (status new) until /paper normal ${sym}, then fill at the next market move.`;
    case 'reject':
      return `Orders in ${sym} are now accepted by the API and then rejected by the venue (status rejected), until /paper normal ${sym}.`;
    case 'normal':
      return `${sym} fills orders in full again; orders held by a fill model fill at the next market move (tick or price change).`;
  }
}

export function scenarioControls(ex: Exchange): ScenarioControls | null {
  const c = ex as unknown as Partial<ScenarioControls>;
  return ex.name === 'paper' && typeof c.setPrice === 'function' && typeof c.setFunding === 'function' && typeof c.startCascade === 'function' && typeof c.reset === 'function' && typeof c.setFillModel === 'function' && typeof c.setFeedMode === 'function'
    ? (c as ScenarioControls)
    : null;
}

/** OI unwinds 10 % with the move: three times the 3 % threshold, so the default 5 % price drop scores "severe". */
const CASCADE_OI_DROP_PCT = 10;
const CASCADE_STEPS = 3;

export default defineCommand({
  name: 'paper',
  description: 'Paper-exchange scenario controls: cascade, price, funding, reset; fill models; stale, fail, live feeds (admin, paper only)',
  role: 'admin',
  sideEffect: 'control',
  options: [
    { name: 'action', description: 'cascade, price, funding, reset; fill model partial, resting, reject, normal; feeds stale, fail, live', type: 'string', required: true, choices: ['cascade', 'price', 'funding', 'reset', ...FILL_VERBS, ...FEED_VERBS] },
    { name: 'symbol', description: 'Perpetual, e.g. BTC-PERP (fill models also take a spot pair, e.g. BTC-USD)', type: 'string', autocomplete: 'symbol', maxLength: 40 },
    { name: 'value', description: 'cascade: price drop % (negative = squeeze, default 5); price: new mark; funding: rate per interval (omit to unpin); partial: share filled (0-1, default 0.5)', type: 'number' },
  ],
  async run(ctx, args, inv) {
    const controls = ctx.config.EXCHANGE === 'paper' ? scenarioControls(ctx.exchange) : null;
    if (!controls) throw new UserError('not_paper', '/paper only works with the built-in paper exchange (EXCHANGE=paper).');
    const now = ctx.now();
    const audit = (detail: string) =>
      ctx.audit.append({ ts: now, actor: inv.actor.displayName, platform: inv.platform, action: `paper.${args.action}`, subject: args.symbol ?? 'paper', detail });
    if (args.action === 'reset') {
      await controls.reset();
      await audit('account reset');
      return { text: 'Paper account reset: fresh balance, no positions or orders, no pinned funding or running cascade.', severity: 'success' };
    }
    if (!args.symbol) throw new UserError('bad_args', `Missing symbol. Usage: /paper ${args.action} <symbol> [value]`);
    if (isFillVerb(args.action)) {
      // A spot pair (BTC-USD) names the hedge's spot leg; anything else resolves to a perp.
      const spot = /-USD$/i.test(args.symbol.trim());
      const perp = await ctx.market.resolve(spot ? args.symbol.trim().replace(/-USD$/i, '') : args.symbol);
      const target = spot ? spotSymbolFor(perp.symbol) : perp.symbol;
      const fraction = args.value ?? DEFAULT_PARTIAL;
      if (args.action === 'partial' && !(fraction > 0 && fraction < 1)) {
        throw new UserError('bad_args', 'The share filled on arrival is a number between 0 and 1, e.g. /paper partial BTC-PERP 0.3');
      }
      await controls.setFillModel(target, args.action, args.action === 'partial' ? fraction : undefined);
      await audit(args.action === 'partial' ? `fill model of ${target}: partial ${fraction}` : `fill model of ${target}: ${args.action}`);
      return { title: `Paper fill model — ${target}: ${args.action}`, text: fillModelText(target, args.action, fraction), severity: args.action === 'normal' ? 'success' : 'warning' };
    }
    const inst = await ctx.market.resolve(args.symbol);
    const sym = inst.symbol;
    if (isFeedVerb(args.action)) {
      await controls.setFeedMode(sym, 'all', args.action);
      await audit(`market data feeds of ${sym}: ${args.action}`);
      const what = {
        stale: `${sym}'s mark, funding and OI now repeat this moment's values and timestamps`,
        fail: `Every mark, funding and OI call for ${sym} now fails (503)`,
        live: `${sym}'s market data flows again`,
      }[args.action];
      const after = args.action === 'live'
        ? 'The stale-data watchdog says "Data recovered" at its next run if it had reported them.'
        : `After ${DEFAULT_TUNING.staleFeedIntervals} cascade-detector intervals the stale-data watchdog reports it; /paper live ${sym} brings them back.`;
      return { title: `Paper feeds — ${sym}: ${args.action}`, text: `${what}. ${after}`, severity: args.action === 'live' ? 'success' : 'warning' };
    }
    if (args.action === 'price') {
      if (args.value === undefined || !(args.value > 0)) throw new UserError('bad_args', 'Give the new mark price, e.g. /paper price BTC-PERP 60000');
      await controls.setPrice(sym, args.value);
      await audit(`mark set to ${args.value}`);
      return { text: `${sym} mark set to ${price(args.value, inst.tickSize)}.`, severity: 'success' };
    }
    if (args.action === 'funding') {
      if (args.value !== undefined && !(Math.abs(args.value) < 1)) throw new UserError('bad_args', 'The funding rate is per interval, e.g. 0.001 for 0.1 %.');
      await controls.setFunding(sym, args.value ?? null);
      await audit(args.value === undefined ? 'funding unpinned' : `funding pinned at ${args.value}`);
      return {
        text: args.value === undefined ? `${sym} funding follows the market again.` : `${sym} funding pinned at ${pct(args.value, 4)} per ${inst.fundingIntervalHours}h.`,
        severity: 'success',
      };
    }
    const drop = args.value ?? 5;
    if (!(drop > -100 && drop < 100) || drop === 0) throw new UserError('bad_args', 'The price move is a percentage between -100 and 100 (not 0), e.g. 5 for a 5 % drop.');
    // The detector compares with a sample one window old; right after start-up there is none yet, so record the
    // calm market as it stands now as that baseline.
    const window = DEFAULT_TUNING.cascadeWindowMs;
    const older = await ctx.samples.oiSince(sym, now - 2 * window);
    if (!older.some((s) => s.ts <= now - window)) {
      const [t, oi] = await Promise.all([ctx.exchange.ticker(sym), ctx.exchange.openInterest(sym)]);
      await ctx.samples.addOi(sym, { ts: now - window, oi: oi.openInterest, price: t.markPrice });
    }
    await controls.startCascade(sym, { oiDropPct: CASCADE_OI_DROP_PCT, priceDropPct: drop, steps: CASCADE_STEPS });
    await audit(`cascade: OI -${CASCADE_OI_DROP_PCT}%, price ${drop > 0 ? '-' : '+'}${Math.abs(drop)}% over ${CASCADE_STEPS} ticks`);
    return {
      title: `Paper cascade started — ${sym}`,
      text: `Over the next ${CASCADE_STEPS} ticks open interest falls ${CASCADE_OI_DROP_PCT}% and the price ${drop > 0 ? 'falls' : 'rises'} ${Math.abs(drop)}%. The cascade detector (every ${ctx.config.CASCADE_INTERVAL_SECONDS} s) raises the alert and switches ${sym} to limit-only; /funding ${sym} shows it.`,
      severity: 'warning',
    };
  },
});
