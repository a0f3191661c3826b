/**
 * Risk monitor: every position's liquidation buffer (warn below 15 %, critical below 10 %), account leverage above
 * MAX_LEVERAGE, and funding working against a position beyond 100 % APR. One alert per condition until it clears or
 * worsens a level — the condition's state lives in Redis, so a tick, a restart or a second worker never repeats it.
 * Each run also compares the venue's positions with the last known book (PositionWatch): a position liquidated,
 * deleveraged, closed or opened outside PerpDesk is reported within one run. The run a process makes when it starts
 * (`startup`) warns again about every position inside the warning buffer, already announced or not: the process
 * cannot know how long it was away.
 */
import { z } from 'zod';
import { annualize, fundingPayment } from '../src/domain/funding.js';
import { fundingAgainstClose } from '../src/domain/harvester.js';
import { liqBuffer } from '../src/domain/liquidation.js';
import { aboveLeverageCap, accountLeverage, grossNotional } from '../src/domain/exposure.js';
import { gte } from '../src/domain/numbers.js';
import { isDomainError } from '../src/domain/result.js';
import { multiple, pct, price, qty, signedUsd, usd } from '../src/format.js';
import type { FundingInfo, Instrument, Position } from '../src/exchange/port.js';
import type { AlertInput } from '../src/services/alerts/types.js';
import { key } from '../src/services/store.js';
import { ApprovalStore } from '../src/services/approvals/store.js';
import { PositionWatch, type PositionWatchOutcome } from '../src/services/watchdogs/positions.js';
import { FlattenStore } from '../src/services/flatten/store.js';
import type { JobContext } from './job-context.js';

const Level = z.enum(['warn', 'critical']);
type Level = z.infer<typeof Level>;
const CondState = z.object({ level: Level, since: z.number() });
type CondState = z.infer<typeof CondState>;
const RANK: Record<Level | 'ok', number> = { ok: 0, warn: 1, critical: 2 };

export interface RiskOutcome {
  alerts: string[];
  cleared: string[];
  /** What the position watchdog saw; null when it could not look this run (logged). */
  positions: PositionWatchOutcome | null;
}

export function positionWatch(ctx: JobContext): PositionWatch {
  const { store, exchange, alerts, harvester, cascade, audit, log } = ctx;
  return new PositionWatch({ store, exchange, alerts, harvester, cascade, audit, log, approvals: new ApprovalStore(store, audit), flattens: new FlattenStore(store, audit) });
}

export async function runRiskMonitor(ctx: JobContext, opts: { startup?: boolean } = {}): Promise<RiskOutcome> {
  const now = ctx.now();
  // Orders before positions and again after (inside PositionWatch): a desk fill between the reads is seen, not blamed on someone.
  const ordersBefore = await ctx.exchange.listOrders({}).catch((err: unknown) => {
    ctx.log.warn({ err }, 'risk monitor: could not list orders; positions are compared next run');
    return null;
  });
  const [positions, account, instruments] = await Promise.all([ctx.exchange.positions(), ctx.exchange.account(), ctx.market.instruments()]);
  let watched: PositionWatchOutcome | null = null;
  if (ordersBefore) {
    watched = await positionWatch(ctx).run(positions, ordersBefore, instruments, now).catch((err: unknown) => {
      ctx.log.warn({ err }, 'risk monitor: position watchdog failed; it looks again next run');
      return null;
    });
  }
  const fundings = new Map<string, FundingInfo>();
  for (const sym of new Set(positions.map((p) => p.symbol))) fundings.set(sym, await ctx.exchange.funding(sym));
  const conds = new Conditions(ctx, now, opts.startup === true);
  await conds.load();

  for (const p of positions) {
    const inst = instruments.find((i) => i.symbol === p.symbol);
    await checkBuffer(ctx, conds, p, inst);
    const f = fundings.get(p.symbol);
    if (f) await checkFunding(ctx, conds, p, f, inst);
  }
  const notional = grossNotional(positions);
  const leverage = accountLeverage(notional, account.equity);
  const over = aboveLeverageCap(leverage, ctx.config.MAX_LEVERAGE);
  await conds.observe('account:leverage', over ? 'warn' : 'ok', (st) => ({
    key: `risk:leverage:${st.level}:${st.since}`,
    kind: 'leverage',
    severity: 'warning',
    title: `Account leverage ${multiple(leverage, 2)} is above the ${multiple(ctx.config.MAX_LEVERAGE)} cap`,
    text: 'New orders that add exposure are refused at preview, approval and submission; reduce positions (/close) or add margin.',
    fields: [
      { name: 'Gross notional', value: usd(notional), inline: true },
      { name: 'Equity', value: usd(account.equity), inline: true },
      { name: 'Cap (MAX_LEVERAGE)', value: multiple(ctx.config.MAX_LEVERAGE), inline: true },
    ],
  }), () => ({ title: `Account leverage back under the ${multiple(ctx.config.MAX_LEVERAGE)} cap (${multiple(leverage, 2)})` }));
  await conds.finish();
  return { ...conds.outcome, positions: watched };
}

async function checkBuffer(ctx: JobContext, conds: Conditions, p: Position, inst: Instrument | undefined): Promise<void> {
  const id = `liq:${p.symbol}:${p.side}`;
  const b = liqBuffer({ side: p.side, mark: p.markPrice, liqPrice: p.liquidationPrice, minBuffer: ctx.tuning.bufferCritical });
  if (isDomainError(b) || b.buffer === null) return conds.observe(id, 'ok', null, null);
  const buffer = b.buffer;
  const level: Level | 'ok' = !b.ok ? 'critical' : !gte(buffer, ctx.tuning.bufferWarn) ? 'warn' : 'ok';
  // Clearing needs a margin above the warning level, so a buffer hovering at 15 % does not warn on every wiggle.
  const recovered = gte(buffer, ctx.tuning.bufferWarn + ctx.tuning.bufferHysteresis);
  const hedge = await ctx.harvester.hedge(p.symbol);
  const tick = inst?.tickSize;
  const fields = [
    { name: 'Position', value: `${p.side} ${qty(p.size, inst?.lotSize)} ${p.symbol} at ${multiple(p.leverage)}`, inline: true },
    { name: 'Liquidation buffer', value: pct(buffer, 1), inline: true },
    { name: 'Mark', value: price(p.markPrice, tick), inline: true },
    { name: 'Liquidation price', value: price(p.liquidationPrice ?? 0, tick), inline: true },
    { name: 'Margin', value: usd(p.margin), inline: true },
  ];
  const hedgeNote = hedge
    ? '\nThis is the perp leg of a harvester hedge: the spot leg’s gain sits outside the margin account, so top up margin or reduce both legs proportionally (/harvester status).'
    : '';
  await conds.observe(
    id,
    level === 'ok' && !recovered ? 'hold' : level,
    (st) => ({
      key: `risk:${id}:${st.level}:${st.since}`,
      kind: 'liquidation_risk',
      severity: st.level === 'critical' ? 'critical' : 'warning',
      symbol: p.symbol,
      title: `Liquidation risk — ${p.symbol} ${p.side}: buffer ${pct(buffer, 1)}${st.level === 'critical' ? ` (below ${pct(ctx.tuning.bufferCritical, 0)})` : ` (below ${pct(ctx.tuning.bufferWarn, 0)})`}`,
      text: `The mark is ${pct(buffer, 1)} away from the liquidation price. Add margin or reduce the position (/close ${p.symbol}).${hedgeNote}`,
      fields,
    }),
    () => ({ title: `Liquidation risk cleared — ${p.symbol} ${p.side}: buffer back to ${pct(buffer, 1)}`, fields }),
  );
}

async function checkFunding(ctx: JobContext, conds: Conditions, p: Position, f: FundingInfo, inst: Instrument | undefined): Promise<void> {
  const id = `funding:${p.symbol}:${p.side}`;
  const apr = annualize({ rate: f.currentRate, intervalHours: f.fundingIntervalHours });
  if (isDomainError(apr)) return;
  const against = fundingAgainstClose({ side: p.side, annRate: apr, maxAgainstAnn: ctx.tuning.maxAgainstAnn });
  if (isDomainError(against)) return;
  const pay = fundingPayment({ side: p.side, size: p.size, price: p.markPrice, rate: f.currentRate });
  const payText = isDomainError(pay) ? 'unknown' : `${signedUsd(pay)} (${pay >= 0 ? 'receives' : 'pays'})`;
  await conds.observe(id, against ? 'warn' : 'ok', (st) => ({
    key: `risk:${id}:${st.since}`,
    kind: 'funding_against',
    severity: 'warning',
    symbol: p.symbol,
    title: `Funding against — ${p.symbol} ${p.side}: ${pct(apr)} APR`,
    text: `Funding costs this ${p.side} more than ${pct(ctx.tuning.maxAgainstAnn, 0)} a year; consider closing (/close ${p.symbol}).`,
    fields: [
      { name: 'Rate per interval', value: `${pct(f.currentRate, 4)} per ${f.fundingIntervalHours}h`, inline: true },
      { name: 'APR', value: pct(apr), inline: true },
      { name: 'Expected next payment', value: payText, inline: true },
      { name: 'Position', value: `${p.side} ${qty(p.size, inst?.lotSize)} ${p.symbol}`, inline: true },
    ],
  }), () => ({ title: `Funding no longer against — ${p.symbol} ${p.side}: ${pct(apr)} APR` }));
}

type Raise = (st: CondState) => Omit<AlertInput, 'at'>;
type Clear = () => { title: string; fields?: AlertInput['fields'] };

/** Per-condition state in one Redis hash: the worst level already announced and when the condition started. */
class Conditions {
  readonly outcome: Omit<RiskOutcome, 'positions'> = { alerts: [], cleared: [] };
  #state = new Map<string, CondState>();
  #seen = new Set<string>();

  constructor(
    private readonly ctx: JobContext,
    private readonly now: number,
    /** The run at process start: conditions already announced are announced again, once per start-up window. */
    private readonly startup = false,
  ) {}

  get #key(): string {
    return key(this.ctx.store, 'risk', 'conditions');
  }

  async load(): Promise<void> {
    const all = await this.ctx.store.redis.hgetall(this.#key);
    for (const [id, raw] of Object.entries(all)) {
      try {
        const p = CondState.safeParse(JSON.parse(raw));
        if (p.success) this.#state.set(id, p.data);
      } catch {
        /* an unreadable record reads as "not announced": worst case one extra warning */
      }
    }
  }

  /** `hold` keeps whatever was announced (inside the hysteresis band). */
  async observe(id: string, level: Level | 'ok' | 'hold', raise: Raise | null, clear: Clear | null): Promise<void> {
    this.#seen.add(id);
    const prior = this.#state.get(id);
    if (level === 'hold') return;
    if (level === 'ok') {
      if (!prior) return;
      await this.ctx.store.redis.hdel(this.#key, id);
      this.outcome.cleared.push(id);
      if (clear && raise) {
        const base = raise(prior);
        const c = clear();
        // Edits the warning in place; chats that never got the warning get nothing.
        await this.ctx.alerts.publish({
          ...base,
          key: `${base.key}:cleared`,
          severity: 'success',
          title: c.title,
          text: undefined,
          fields: c.fields ?? base.fields,
          incident: incidentOf(id, prior),
          editOnly: true,
          at: this.now,
        });
      }
      return;
    }
    if (prior && RANK[prior.level] >= RANK[level]) {
      if (this.startup && raise && id.startsWith('liq:')) await this.#again(id, prior, raise);
      return;
    }
    const st: CondState = { level, since: prior?.since ?? this.now };
    if (!raise) return;
    const alert = raise(st);
    // A worsening is a follow-up of the same incident: it edits the first warning instead of posting a new one.
    await this.ctx.alerts.publish({ ...alert, incident: incidentOf(id, st), at: this.now });
    await this.ctx.store.redis.hset(this.#key, id, JSON.stringify(st));
    this.#state.set(id, st);
    this.outcome.alerts.push(`${id}:${level}`);
  }

  /**
   * A new message (not an edit of the old one, which may be far up the chat) saying the process just started. Keyed
   * by the condition and a window of a few runs, so replicas and workers that start together warn once.
   */
  async #again(id: string, st: CondState, raise: Raise): Promise<void> {
    const alert = raise(st);
    const window = 3 * this.ctx.config.RISK_INTERVAL_SECONDS * 1000;
    await this.ctx.alerts.publish({
      ...alert,
      key: `risk:startup:${id}:${Math.floor(this.now / window)}`,
      title: `After start-up: ${alert.title}`,
      text: `${alert.text ?? ''}\nPerpDesk just started and cannot know how long this has lasted.`,
      incident: `risk:startup:${id}:${this.now}`,
      cooldownMs: window,
      at: this.now,
    });
    this.outcome.alerts.push(`${id}:startup`);
  }

  /** Conditions of positions that no longer exist end silently. */
  async finish(): Promise<void> {
    const gone = [...this.#state.keys()].filter((id) => !this.#seen.has(id));
    if (gone.length) await this.ctx.store.redis.hdel(this.#key, ...gone);
  }
}

function incidentOf(id: string, st: CondState): string {
  return `risk:${id}:${st.since}`;
}
