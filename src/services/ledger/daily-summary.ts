/**
 * The daily summary alert (`DAILY_SUMMARY_HOUR`): yesterday's PnL, funding and fees from the ledger, the open risk
 * now, and the chart. Posted once per UTC day across restarts and replicas: a done-marker per day, and a fixed
 * alert id so a publisher that died half way is completed, never doubled, by the next run.
 */
import { accountLeverage, grossNotional } from '../../domain/exposure.js';
import { DAY_MS, dayStart, totalOf, utcDay } from '../../domain/ledger.js';
import { isDomainError } from '../../domain/result.js';
import { liqBuffer } from '../../domain/liquidation.js';
import type { Exchange } from '../../exchange/port.js';
import { multiple, pct, signedUsd, usd } from '../../format.js';
import type { AlertService } from '../alerts/publish.js';
import { key, type Store } from '../store.js';
import type { Ledger } from './ledger.js';
import { feesFootnote, pnlView } from './pnl-view.js';

export interface DailySummaryDeps {
  store: Store;
  ledger: Ledger;
  exchange: Pick<Exchange, 'positions' | 'account'>;
  alerts: Pick<AlertService, 'publish'>;
  now: () => number;
  /** UTC hour (0-23); undefined = off. */
  hour: number | undefined;
}

export type DailySummaryOutcome = 'off' | 'not_due' | 'already' | 'busy' | 'posted' | 'duplicate';

/** One summariser at a time per day; a holder that died frees it after this long. */
const LOCK_MS = 60_000;

/** How long the chart waits in Redis for delivery. */
const CHART_TTL_S = 7 * 86_400;

export async function postDailySummary(d: DailySummaryDeps): Promise<{ outcome: DailySummaryOutcome; day?: string }> {
  if (d.hour === undefined) return { outcome: 'off' };
  const now = d.now();
  if (new Date(now).getUTCHours() < d.hour) return { outcome: 'not_due' };
  const day = utcDay(now - DAY_MS);
  const doneKey = key(d.store, 'ledger', 'summary', day);
  if (await d.store.redis.exists(doneKey)) return { outcome: 'already', day };
  const lockKey = key(d.store, 'ledger', 'summary-lock', day);
  const token = `${now}:${Math.random()}`;
  if ((await d.store.redis.set(lockKey, token, 'PX', LOCK_MS, 'NX')) !== 'OK') return { outcome: 'busy', day };
  try {
    return await summarise(d, day, doneKey, now);
  } finally {
    // Only our own lock: a run that outlived it must not free the next holder's.
    await d.store.redis.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, lockKey, token);
  }
}

async function summarise(d: DailySummaryDeps, day: string, doneKey: string, now: number): Promise<{ outcome: DailySummaryOutcome; day?: string }> {
  // Another run may have finished between our check and the lock.
  if (await d.store.redis.exists(doneKey)) return { outcome: 'already', day };
  const from = dayStart(day);
  const to = from + DAY_MS;
  const [positions, account] = await Promise.all([d.exchange.positions(), d.exchange.account()]);
  const v = await pnlView({ ledger: d.ledger, exchange: d.exchange, from, to, positions, title: `PerpDesk — ${day}`, file: `summary-${day}.png` });
  const t = v.report.total;
  const gross = grossNotional(positions);
  const lev = accountLeverage(gross, account.equity);
  let lowest: { symbol: string; buffer: number } | null = null;
  for (const p of positions) {
    const b = liqBuffer({ side: p.side, mark: p.markPrice, liqPrice: p.liquidationPrice });
    if (!isDomainError(b) && b.buffer !== null && (lowest === null || b.buffer < lowest.buffer)) lowest = { symbol: p.symbol, buffer: b.buffer };
  }
  const rows = v.table ? v.table.rows.map((r) => `${r[0]}: ${r[4]} (realised ${r[1]}, funding ${r[2]}, fees ${r[3]})`) : [];
  let image: { key: string; filename: string; alt?: string } | undefined;
  if (v.image) {
    const chartKey = key(d.store, 'ledger', 'summary-chart', day);
    await d.store.redis.set(chartKey, v.image.data, 'EX', CHART_TTL_S);
    image = { key: chartKey, filename: v.image.filename, alt: v.image.alt };
  }
  const r = await d.alerts.publish({
    key: `summary:${day}`,
    kind: 'summary',
    severity: 'info',
    title: `Daily summary ${day}: ${signedUsd(totalOf(t))}`,
    text: [
      rows.length ? rows.join('\n') : 'No fills of PerpDesk orders and no funding settlements yesterday.',
      ...v.notes,
      feesFootnote(d.ledger),
    ].join('\n').slice(0, 3000),
    fields: [
      { name: 'PnL (realised + funding − fees)', value: signedUsd(totalOf(t)), inline: true },
      { name: 'Realised', value: signedUsd(t.realised), inline: true },
      { name: 'Funding', value: signedUsd(t.funding), inline: true },
      { name: 'Fees', value: usd(t.fees), inline: true },
      { name: 'Open positions', value: positions.length ? `${positions.length}, gross ${usd(gross)}` : 'none', inline: true },
      { name: 'Account leverage', value: Number.isFinite(lev) ? multiple(lev, 2) : 'n/a', inline: true },
      ...(lowest ? [{ name: 'Lowest liquidation buffer', value: `${lowest.symbol} ${pct(lowest.buffer, 1)}`, inline: true }] : []),
    ],
    ...(image ? { image } : {}),
    // Longer than a day: a second run the same day is a duplicate, whichever replica runs it.
    cooldownMs: 3 * DAY_MS,
  }, { alertId: `summary-${day}` });
  await d.store.redis.set(doneKey, String(now), 'EX', 90 * 86_400);
  return { outcome: r.published ? 'posted' : 'duplicate', day };
}
