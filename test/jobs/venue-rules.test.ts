/**
 * `/alert` rules that name a venue (`funding BTC-PERP@bybit apr > 5%`, issue 17 on top of issue 16): the rule reads
 * that venue's latest reading (stored by the venue sampler from real ccxt against the relay stand-in), fires once to
 * its own chat with `Alert.venue`, and waits rather than fire on a stale reading or a venue that is not configured.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlertRules, VENUE_READING_MAX_AGE_MS } from '../../jobs/alert-rules.js';
import { runVenueSampler } from '../../jobs/venue-sampler.js';
import type { JobContext } from '../../jobs/job-context.js';
import { silentLogger } from '../../src/log.js';
import type { Alert } from '../../src/services/alerts/types.js';
import { MarketVenues } from '../../src/venues/market-venues.js';
import { RECORDED_AT } from '../fakes/venue-relay/recordings.js';
import { startVenueRelay, type VenueRelay } from '../fakes/venue-relay/relay.js';
import { drained, jobsHarness, RecordingNotifier, telegramInvocation, type JobsHarness } from './support/harness.js';

const TEAM = '-500';
let relay: VenueRelay;
let venues: MarketVenues;
let h: JobsHarness;
const tg = new RecordingNotifier('telegram');
const inTeam = () => telegramInvocation('42', TEAM);

beforeAll(async () => {
  relay = await startVenueRelay();
  venues = await MarketVenues.open({ ids: ['binanceusdm', 'bybit', 'okx', 'hyperliquid'], proxyUrl: relay.proxyUrl, timeoutMs: 8_000, log: silentLogger, now: () => RECORDED_AT });
  h = await jobsHarness({ env: { PERPDESK_CHATS: `telegram:${TEAM}` }, extraNotifiers: [tg], venues });
}, 90_000);
afterAll(async () => {
  await h?.close();
  await venues?.close();
  await relay?.close();
});

const at = (ts: number): JobContext => ({ ...h.bg.ctx, now: () => ts });

async function add(rule: string): Promise<string> {
  const r = await h.run('alert', { action: 'add', rule }, inTeam());
  return `${r.title ?? ''}\n${r.text ?? ''}`;
}

describe('alert rules on a venue', () => {
  it('refuses a venue that is not in MARKET_VENUES, naming the ones that are', async () => {
    expect(await add('funding btc@kraken apr > 5%')).toMatch(/kraken is not one of the venues PerpDesk reads \(MARKET_VENUES: binanceusdm, bybit, okx, hyperliquid\)/);
  });

  it('fires once to its chat, with Alert.venue, from the venue’s latest reading; a stale reading fires nothing', async () => {
    expect(await add('funding btc@bybit apr > 5%')).toMatch(/Alert rule r1 added\nfunding BTC-PERP@bybit apr > 5%[\s\S]*against bybit's latest reading/);
    expect(await add('price btc@hyperliquid < 70000')).toMatch(/r2 added/);
    // No reading yet: nothing to evaluate.
    await runAlertRules(at(RECORDED_AT));
    await drained(h);
    expect(tg.sent).toHaveLength(0);

    await runVenueSampler(at(RECORDED_AT)); // bybit 0.01 % per 8 h = 10.95 % APR; hyperliquid mark 73,300
    // Read too late: the reading is older than two sampler rounds.
    await runAlertRules(at(RECORDED_AT + VENUE_READING_MAX_AGE_MS + 1));
    await drained(h);
    expect(tg.sent).toHaveLength(0);

    await runAlertRules(at(RECORDED_AT + 60_000));
    await runAlertRules(at(RECORDED_AT + 90_000));
    await drained(h);
    expect(tg.sent.map((s) => [s.chatId, s.reply.title])).toEqual([[TEAM, 'Alert rule r1 — funding BTC-PERP@bybit apr > 5%: now 10.95%']]);
    expect(tg.sent[0]!.reply.text).toContain('funding APR of BTC-PERP on bybit is 10.95%');
    // The alert itself (its fan-out job is kept after delivery) says which venue it is about.
    const jobs = await h.bg.services.alerts.queue.getJobs(['completed', 'waiting', 'active', 'delayed']);
    const rules = jobs.map((j) => (j.data as { alert?: Alert }).alert).filter((a): a is Alert => a?.kind === 'rule');
    expect(rules.map((a) => [a.venue, a.symbol])).toEqual([['bybit', 'BTC-PERP']]);
  });
});
