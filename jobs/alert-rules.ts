/**
 * Chats' own alert rules (`/alert add`): one run reads every rule, fetches each value it needs once (funding and
 * ticker per symbol, open interest per symbol, positions once), and steps each rule's hysteresis (domain
 * stepRule). A rule that fires is delivered to its own chat only, through the paced outbox.
 *
 * Exactly one alert per firing, across crashes: the n-th firing's alert is keyed by n (de-duplicated for a week), it
 * is published before the state that records it, so a run that dies in between publishes the same key again (a
 * no-op) and then records it.
 */
import { annualize } from '../src/domain/funding.js';
import { bufferOf } from '../src/domain/liquidation.js';
import { isDomainError } from '../src/domain/result.js';
import { rearmMargin, stepRule, type AlertRule } from '../src/domain/alert-rules.js';
import { utc } from '../src/format.js';
import { ruleValueText } from '../src/services/rules/words.js';
import type { FundingInfo, Position, Ticker } from '../src/exchange/port.js';
import type { OiSample } from '../src/services/samples.js';
import { NEW_RULE_STATE, stateField, type RuleState, type StoredRule } from '../src/services/rules/store.js';
import { destKey } from '../src/services/alerts/types.js';
import type { JobContext } from './job-context.js';
import { BASIS_SAMPLE_EVERY_MS } from '../src/queues/schedulers.js';
import type { VenueReading } from '../src/venues/types.js';
import { venueSeries } from './venue-sampler.js';

/** A fired rule's alert key is kept this long: a re-run after a crash within it publishes nothing twice. */
const FIRED_KEY_MS = 7 * 86_400_000;

export interface RulesOutcome {
  rules: number;
  fired: string[];
  rearmed: string[];
}

/** What one run fetched; a symbol whose fetch failed is absent (its rules keep their state). */
interface Snapshot {
  now: number;
  funding: Map<string, FundingInfo>;
  ticker: Map<string, Ticker>;
  oi: Map<string, { now: number; history: OiSample[] }>;
  positions: Position[] | null;
  /** Real venues' latest readings by `symbol@venue` (issue 17), only when fresh; with the OI history of that series. */
  venues: Map<string, { reading: VenueReading; history: OiSample[] }>;
}

/**
 * A venue's reading older than this is not evaluated: the venue sampler refreshes them every 5 minutes, so two
 * missed rounds mean the venue is not answering, and a rule must not fire on old numbers.
 */
export const VENUE_READING_MAX_AGE_MS = 2 * BASIS_SAMPLE_EVERY_MS + 60_000;

export async function runAlertRules(ctx: JobContext): Promise<RulesOutcome> {
  const rules = await ctx.rules.all();
  const out: RulesOutcome = { rules: rules.length, fired: [], rearmed: [] };
  if (!rules.length) return out;
  const snap = await fetchSnapshot(ctx, rules);
  const states = await ctx.rules.states();
  const live = new Set(rules.map(stateField));
  const updates: { rule: StoredRule; state: RuleState }[] = [];
  for (const r of rules) {
    const prior = states.get(stateField(r)) ?? NEW_RULE_STATE;
    const value = valueOf(r.rule, snap);
    const step = stepRule(r.rule, prior.armed, value);
    const next: RuleState = {
      armed: step.armed,
      fires: prior.fires + (step.fire ? 1 : 0),
      lastValue: value ?? prior.lastValue,
      lastAt: value === null ? prior.lastAt : snap.now,
      firedAt: step.fire ? snap.now : prior.firedAt,
    };
    if (step.fire && value !== null) {
      await ctx.alerts.publish(ruleAlert(r, value, next.fires, snap.now));
      // Recorded at once: a later failure in this run must not fire this rule again.
      await ctx.rules.saveStates([{ rule: r, state: next }]);
      out.fired.push(`${destKey(r.dest)}|${r.id}`);
      continue;
    }
    if (!prior.armed && step.armed) out.rearmed.push(`${destKey(r.dest)}|${r.id}`);
    updates.push({ rule: r, state: next });
  }
  await ctx.rules.saveStates(updates);
  await ctx.rules.dropStates([...states.keys()].filter((f) => !live.has(f)));
  return out;
}

async function fetchSnapshot(ctx: JobContext, rules: StoredRule[]): Promise<Snapshot> {
  const now = ctx.now();
  const want = { funding: new Set<string>(), ticker: new Set<string>(), oi: new Map<string, number>(), positions: false, venues: new Map<string, { symbol: string; venue: string; minutes: number }>() };
  for (const { rule } of rules) {
    // Rules on a real venue's data read that venue's latest reading (issue 17), never this exchange.
    if ('target' in rule && rule.target.venue) {
      const k = venueSeries(rule.target.symbol, rule.target.venue);
      const minutes = rule.metric === 'oi' ? rule.windowMinutes : 0;
      want.venues.set(k, { symbol: rule.target.symbol, venue: rule.target.venue, minutes: Math.max(want.venues.get(k)?.minutes ?? 0, minutes) });
      continue;
    }
    if (rule.metric === 'funding' || rule.metric === 'funding_apr') want.funding.add(rule.target.symbol);
    else if (rule.metric === 'price') want.ticker.add(rule.target.symbol);
    else if (rule.metric === 'oi') want.oi.set(rule.target.symbol, Math.max(want.oi.get(rule.target.symbol) ?? 0, rule.windowMinutes));
    else want.positions = true;
  }
  const snap: Snapshot = { now, funding: new Map(), ticker: new Map(), oi: new Map(), positions: null, venues: new Map() };
  const guarded = async (what: string, symbol: string | undefined, f: () => Promise<void>) => {
    try {
      await f();
    } catch (err) {
      // One symbol's bad answer leaves its rules as they are; the others are still evaluated.
      ctx.log.warn({ err, symbol, what }, 'alert rules: value skipped');
    }
  };
  await Promise.all([
    ...[...want.funding].map((s) => guarded('funding', s, async () => void snap.funding.set(s, await ctx.exchange.funding(s)))),
    ...[...want.ticker].map((s) => guarded('ticker', s, async () => void snap.ticker.set(s, await ctx.exchange.ticker(s)))),
    ...[...want.oi].map(([s, minutes]) => guarded('oi', s, async () => {
      const [oi, history] = await Promise.all([ctx.exchange.openInterest(s), ctx.samples.oiSince(s, now - minutes * 60_000)]);
      snap.oi.set(s, { now: oi.openInterest, history });
    })),
    ...(want.positions ? [guarded('positions', undefined, async () => void (snap.positions = await ctx.exchange.positions()))] : []),
    ...[...want.venues].map(([k, v]) => guarded('venue', k, async () => {
      const reading = await ctx.venues?.readings.latest(v.symbol, v.venue);
      if (!reading || now - reading.ts > VENUE_READING_MAX_AGE_MS) return;
      const history = v.minutes > 0 ? await ctx.samples.oiSince(k, now - v.minutes * 60_000) : [];
      snap.venues.set(k, { reading, history });
    })),
  ]);
  return snap;
}

/** The rule's value in its own unit (percent for % rules), or null when it cannot be known this run. */
export function valueOf(rule: AlertRule, s: Snapshot): number | null {
  if ('target' in rule && rule.target.venue) return venueValueOf(rule, s);
  switch (rule.metric) {
    case 'funding': {
      const f = s.funding.get(rule.target.symbol);
      return f ? f.currentRate * 100 : null;
    }
    case 'funding_apr': {
      const f = s.funding.get(rule.target.symbol);
      if (!f) return null;
      const apr = annualize({ rate: f.currentRate, intervalHours: f.fundingIntervalHours });
      return isDomainError(apr) ? null : apr * 100;
    }
    case 'price':
      return s.ticker.get(rule.target.symbol)?.markPrice ?? null;
    case 'oi': {
      const o = s.oi.get(rule.target.symbol);
      if (!o) return null;
      const windowMs = rule.windowMinutes * 60_000;
      const base = o.history.find((x) => x.ts >= s.now - windowMs && x.ts < s.now && x.oi > 0);
      // Less than half a window of history is not yet a change "over the window".
      if (!base || s.now - base.ts < windowMs / 2) return null;
      return (o.now / base.oi - 1) * 100;
    }
    case 'buffer': {
      if (!s.positions) return null;
      const buffers = s.positions
        .filter((p) => p.size > 0 && p.liquidationPrice !== null && p.liquidationPrice > 0 && p.markPrice > 0)
        .map((p) => bufferOf(p.side === 'long' ? 1 : -1, p.markPrice, p.liquidationPrice!) * 100);
      if (!buffers.length) return null;
      // "Any position": below a floor means the lowest buffer is, above a level means the highest is.
      return rule.op === '<' ? Math.min(...buffers) : Math.max(...buffers);
    }
  }
}

/** The same values from a real venue's latest reading: its rate per its own interval, its APR, mark, OI change. */
function venueValueOf(rule: Exclude<AlertRule, { metric: 'buffer' }>, s: Snapshot): number | null {
  const v = s.venues.get(venueSeries(rule.target.symbol, rule.target.venue!));
  if (!v) return null;
  const r = v.reading;
  switch (rule.metric) {
    case 'funding':
      return r.fundingRate * 100;
    case 'funding_apr': {
      // A venue that did not say its interval has no APR: the rule waits rather than guess one.
      if (r.intervalHours === null) return null;
      const apr = annualize({ rate: r.fundingRate, intervalHours: r.intervalHours });
      return isDomainError(apr) ? null : apr * 100;
    }
    case 'price':
      return r.markPrice;
    case 'oi': {
      if (r.openInterest === null) return null;
      const windowMs = rule.windowMinutes * 60_000;
      const base = v.history.find((x) => x.ts >= s.now - windowMs && x.ts < r.ts && x.oi > 0);
      if (!base || r.ts - base.ts < windowMs / 2) return null;
      return (r.openInterest / base.oi - 1) * 100;
    }
  }
}

const METRIC_WORDS: Record<AlertRule['metric'], string> = {
  funding: 'funding rate per interval',
  funding_apr: 'funding APR',
  price: 'mark price',
  buffer: 'liquidation buffer',
  oi: 'open interest change',
};

function ruleAlert(r: StoredRule, value: number, n: number, now: number) {
  const rule = r.rule;
  const m = rearmMargin(rule);
  const rearmAt = rule.op === '>' ? rule.threshold - m : rule.threshold + m;
  const symbol = 'target' in rule ? rule.target.symbol : undefined;
  const venue = 'target' in rule ? rule.target.venue : undefined;
  const where = rule.metric === 'buffer' ? `the ${rule.op === '<' ? 'lowest' : 'highest'} position buffer` : `${METRIC_WORDS[rule.metric]} of ${symbol}${venue ? ` on ${venue}` : ''}`;
  return {
    key: `rule:${destKey(r.dest)}:${r.id}:${n}`,
    kind: 'rule' as const,
    severity: 'warning' as const,
    ...(symbol ? { symbol } : {}),
    ...(venue ? { venue } : {}),
    title: `Alert rule ${r.id} — ${r.text}: now ${ruleValueText(rule, value)}`,
    text: `Your rule fired: ${where} is ${ruleValueText(rule, value)}, ${rule.op === '>' ? 'above' : 'below'} ${ruleValueText(rule, rule.threshold)}. ` +
      `It fires again once the value has been back at ${ruleValueText(rule, rearmAt)} or ${rule.op === '>' ? 'below' : 'above'} and crosses again.`,
    fields: [
      { name: 'Rule', value: `${r.id}: ${r.text}`, inline: true },
      { name: 'Value', value: ruleValueText(rule, value), inline: true },
      { name: 'Re-arms at', value: ruleValueText(rule, rearmAt), inline: true },
      { name: 'Seen', value: utc(now), inline: true },
    ],
    to: r.dest,
    cooldownMs: FIRED_KEY_MS,
    at: now,
  };
}
