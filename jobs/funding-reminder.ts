/**
 * Funding reminder: shortly before each funding stamp of a symbol with open positions, one message with the rate and
 * each position's expected payment. Closing just before the stamp forfeits (or avoids) that payment, so people want
 * to know it is coming. One per symbol and stamp, however many workers poll.
 */
import { annualize, fundingPayment, formatCountdown } from '../src/domain/funding.js';
import { isDomainError } from '../src/domain/result.js';
import { pct, qty, signedUsd, utc } from '../src/format.js';
import type { JobContext } from './job-context.js';

export async function runFundingReminder(ctx: JobContext): Promise<string[]> {
  const now = ctx.now();
  const positions = await ctx.exchange.positions();
  const reminded: string[] = [];
  for (const symbol of new Set(positions.map((p) => p.symbol))) {
    const f = await ctx.exchange.funding(symbol);
    const left = f.nextFundingTs - now;
    if (left <= 0 || left > ctx.tuning.reminderLeadMs) continue;
    const apr = annualize({ rate: f.currentRate, intervalHours: f.fundingIntervalHours });
    const mine = positions.filter((p) => p.symbol === symbol);
    const lines = mine.map((p) => {
      const pay = fundingPayment({ side: p.side, size: p.size, price: p.markPrice, rate: f.currentRate });
      return `${p.side} ${qty(p.size)}: ${isDomainError(pay) ? 'unknown' : `${signedUsd(pay)} (${pay >= 0 ? 'receives' : 'pays'})`}`;
    });
    const r = await ctx.alerts.publish({
      key: `funding-reminder:${symbol}:${f.nextFundingTs}`,
      kind: 'funding_reminder',
      severity: 'info',
      symbol,
      title: `Funding in ${formatCountdown(left)} — ${symbol}`,
      text: 'Closing before the stamp forfeits a payment you would receive (or avoids one you would pay).',
      fields: [
        { name: 'Rate', value: `${pct(f.currentRate, 4)} per ${f.fundingIntervalHours}h${isDomainError(apr) ? '' : ` (${pct(apr)} APR)`}`, inline: true },
        { name: 'Funding time', value: utc(f.nextFundingTs), inline: true },
        { name: 'Expected payments', value: lines.join('\n') || '—' },
      ],
      cooldownMs: Math.max(ctx.tuning.reminderLeadMs * 2, 60_000),
      at: now,
    });
    if (r.published) reminded.push(symbol);
  }
  return reminded;
}
