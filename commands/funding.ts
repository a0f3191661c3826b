import { defineCommand } from './define.js';
import { symbolOption } from './symbol-option.js';
import { annualize, fundingPayment, formatCountdown } from '../src/domain/funding.js';
import { unwrap } from '../src/domain/result.js';
import { pct, price, qty, ratePct, signedUsd, utc } from '../src/format.js';
import type { ReplyField } from '../src/chat/reply.js';
import { fundingRows } from '../src/services/venues/funding-table.js';
import { venueNotes, venueTable } from './venue-table.js';

export default defineCommand({
  name: 'funding',
  description: 'Current and predicted funding rate, APR, next funding time and what your positions will pay',
  role: 'viewer',
  sideEffect: 'none',
  options: [symbolOption],
  async run(ctx, args) {
    const inst = await ctx.market.resolve(args.symbol);
    const [f, t, positions, cascade, pause, venues] = await Promise.all([
      ctx.exchange.funding(inst.symbol),
      ctx.exchange.ticker(inst.symbol),
      ctx.exchange.positions(),
      ctx.cascade.active(inst.symbol, ctx.now()),
      ctx.killSwitch.state(),
      // Every venue at once with its own deadline: a slow one costs its timeout at most, never the others' rows.
      ctx.venues ? ctx.venues.snapshot(inst.symbol) : Promise.resolve(null),
    ]);
    const h = f.fundingIntervalHours;
    const apr = unwrap(annualize({ rate: f.currentRate, intervalHours: h }));
    const predicted = f.predictedRate ?? f.currentRate;
    const predictedApr = unwrap(annualize({ rate: predicted, intervalHours: h }));
    const per8h = (r: number) => (h === 8 ? '' : ` (${pct((r * 8) / h, 4)} per 8h)`);
    const fields: ReplyField[] = [
      { name: 'Current rate', value: `${ratePct(f.currentRate)} per ${h}h${per8h(f.currentRate)}`, inline: true },
      { name: 'Annualised (APR)', value: pct(apr, 2), inline: true },
      {
        name: f.predictedRate === null ? 'Predicted (est., = current)' : 'Predicted next',
        value: `${ratePct(predicted)} per ${h}h · APR ${pct(predictedApr, 2)}`,
        inline: true,
      },
      { name: 'Interval', value: `${h}h`, inline: true },
      { name: 'Next funding', value: `${utc(f.nextFundingTs)} (in ${formatCountdown(f.nextFundingTs - ctx.now())})`, inline: true },
      { name: 'Mark', value: price(t.markPrice, inst.tickSize), inline: true },
    ];
    const mine = positions.filter((p) => p.symbol === inst.symbol);
    const lines = mine.map((p) => {
      const pay = unwrap(fundingPayment({ side: p.side, size: p.size, price: t.markPrice, rate: f.currentRate }));
      const verb = pay > 0 ? 'receives' : pay < 0 ? 'pays' : 'pays nothing';
      return `${p.side} ${qty(p.size, inst.lotSize)} ${inst.base}: ${signedUsd(pay)} (${verb})`;
    });
    fields.push({ name: 'Your next payment (+ receives, − pays)', value: lines.length ? lines.join('\n') : 'No open position in this symbol.' });
    const notes: string[] = [];
    if (f.currentRate > 0) notes.push('Positive rate: longs pay shorts.');
    else if (f.currentRate < 0) notes.push('Negative rate: shorts pay longs.');
    if (cascade) notes.push(`⚠ Liquidation cascade (${cascade.level}): trading in ${inst.symbol} is limit-only.`);
    if (pause) notes.push(`⏸ Trading paused by ${pause.by}: ${pause.reason}`);
    let table;
    if (venues) {
      const rows = fundingRows(
        { venue: ctx.exchange.name, rate: f.currentRate, predicted: f.predictedRate, intervalHours: h, nextFundingTs: f.nextFundingTs, markPrice: t.markPrice },
        venues,
      );
      table = venueTable(rows, ctx.now());
      notes.push(...venueNotes(rows));
      notes.push('Venues: rate per each venue’s own interval, per 8h and simple APR = rate × 8760 / interval; "est." = no prediction published, current rate shown. /spread for the best pair.');
    }
    return {
      title: `Funding ${inst.symbol}`,
      fields,
      table,
      text: notes.join('\n') || undefined,
      severity: cascade ? 'critical' : Math.abs(apr) >= 1 ? 'warning' : 'info',
      footer: `${ctx.exchange.name} · rates are per ${h}h interval; APR = rate × ${8760 / h}`,
    };
  },
});
