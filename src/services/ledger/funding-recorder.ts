/**
 * Funding settlements of every open position, desk-made or not: a sample of next_funding_ts and the accrued
 * funding is kept per symbol; once next_funding_ts moves past the sampled stamp, the change in accrued funding
 * since the sample is that stamp's settlement (domain/ledger.ts `settlementBetween`), recorded once per symbol
 * and stamp. Run often (the ledger job runs every 30 s) so the sample before a stamp is close to it.
 */
import { z } from 'zod';
import { settlementBetween, type FundingSample } from '../../domain/ledger.js';
import type { Exchange } from '../../exchange/port.js';
import { key, type Store } from '../store.js';
import type { FundingRecord, Ledger } from './ledger.js';

const Sample = z.object({ at: z.number(), stamp: z.number(), accrued: z.number(), size: z.number() });

export interface FundingRecorderDeps {
  store: Store;
  ledger: Ledger;
  exchange: Exchange;
  now: () => number;
}

export async function recordFundingSettlements(d: FundingRecorderDeps): Promise<FundingRecord[]> {
  const samplesKey = key(d.store, 'ledger', 'funding-samples');
  const [positions, stored] = await Promise.all([d.exchange.positions(), d.store.redis.hgetall(samplesKey)]);
  const symbols = new Set([...positions.map((p) => p.symbol), ...Object.keys(stored)]);
  const recorded: FundingRecord[] = [];
  for (const symbol of [...symbols].sort()) {
    // The stamp is read before and after the accrual: a settlement between the reads would pair the accrual with
    // the wrong stamp (and lose that payment), so such a sample is dropped and taken again next run.
    const f = await d.exchange.funding(symbol);
    const acc = await d.exchange.accruedFunding(symbol);
    if ((await d.exchange.funding(symbol)).nextFundingTs !== f.nextFundingTs) continue;
    const pos = positions.find((p) => p.symbol === symbol);
    const now = d.now();
    const cur: FundingSample = { at: now, stamp: f.nextFundingTs, accrued: acc.amount, size: pos ? (pos.side === 'long' ? pos.size : -pos.size) : 0 };
    const prev = parseSample(stored[symbol]);
    const intervalMs = f.fundingIntervalHours * 3_600_000;
    if (!prev && cur.size !== 0 && cur.accrued !== 0) {
      // First sight of a position that has already settled (opened just before a stamp, or before the ledger
      // followed it): what it accrued since opening is settled funding, booked at the last stamp.
      const rec: FundingRecord = {
        symbol, ts: cur.stamp - intervalMs, amount: cur.accrued, recordedAt: now, size: cur.size, stamps: 1,
        note: 'accrued before this position was followed',
      };
      if ((await d.ledger.recordFunding(rec)) === 'recorded') recorded.push(rec);
    }
    if (prev) {
      const s = settlementBetween(prev, cur);
      if (s) {
        const rec: FundingRecord = {
          symbol, ts: prev.stamp, amount: s.amount, recordedAt: now, size: prev.size,
          stamps: Math.max(1, Math.round((cur.stamp - prev.stamp) / intervalMs)), ...(s.note ? { note: s.note } : {}),
        };
        if ((await d.ledger.recordFunding(rec)) === 'recorded') recorded.push(rec);
      }
    }
    // Two flat samples in a row: nothing left to settle, stop following the symbol.
    if (cur.size === 0 && (!prev || prev.size === 0)) await d.store.redis.hdel(samplesKey, symbol);
    else await d.store.redis.hset(samplesKey, symbol, JSON.stringify(cur));
  }
  return recorded;
}

function parseSample(raw: string | undefined): FundingSample | null {
  if (!raw) return null;
  try {
    const r = Sample.safeParse(JSON.parse(raw));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
