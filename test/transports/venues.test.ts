/**
 * `/funding BTC` and `/spread BTC` with MARKET_VENUES=binanceusdm,bybit,okx,hyperliquid through the real discord.js and
 * telegraf clients (stand-ins at the wire), the whole app (startApp), and real ccxt sending every venue request to
 * the relay stand-in (MARKET_VENUES_PROXY_URL), which answers from recorded venue responses. One venue failing
 * (a hang, a 429) shows up as that venue's row saying why; the other rows keep their numbers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordStandIn, type DiscordStandIn } from '../fakes/discord/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { RECORDED_AT } from '../fakes/venue-relay/recordings.js';
import { startVenueRelay, type VenueRelay } from '../fakes/venue-relay/relay.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { discordEnv } from '../support/discord-env.js';
import { TEAM_GROUP } from '../support/desk.js';
import { telegramEnv } from '../support/telegram.js';
import { eventually } from '../jobs/support/harness.js';

const GROUP = Number(TEAM_GROUP);
const VENUES = ['binanceusdm', 'bybit', 'okx', 'hyperliquid'];
let discord: DiscordStandIn;
let tg: TelegramStandIn;
let relay: VenueRelay;
let t: TestApp;
const started = Date.now();
// The app's clock runs from the moment the recordings describe, so countdowns read as they did then.
const now = () => RECORDED_AT + (Date.now() - started);

beforeAll(async () => {
  relay = await startVenueRelay();
  discord = await startDiscordStandIn({ guildId: '1100000000000000001' });
  tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
  t = await startTestApp(
    {
      ...discordEnv(discord),
      ...telegramEnv(tg),
      MARKET_VENUES: VENUES.join(','),
      MARKET_VENUES_PROXY_URL: relay.proxyUrl,
      MARKET_VENUES_TIMEOUT_MS: '5000',
    },
    { now },
  );
  await t.app.ctx.venues!.snapshot('BTC-PERP'); // markets loaded once, as the first user would
}, 90_000);
afterEach(() => relay.clearFaults());
afterAll(async () => {
  await t?.close();
  await tg?.close();
  await discord?.close();
  await relay?.close();
});

/** A user in the team group writes `text`; the bot's next message there (venues may take up to their timeout). */
async function ask(chatId: number, text: string, fromId: number): Promise<string> {
  const before = tg.messages(chatId).at(-1)?.messageId ?? 0;
  tg.sendText({ chatId, text, fromId });
  const m = await tg.waitForMessage(chatId, (x) => x.messageId > before, 30_000);
  return m.text ?? '';
}

type Embed = { title: string; description?: string; fields: { name: string; value: string }[] };

function tableRows(text: string): Record<string, string> {
  const rows: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z]+)(?: \(desk\))?\s{2,}(.*)$/.exec(line);
    if (m && (VENUES.includes(m[1]!) || m[1] === 'paper')) rows[m[1]!] = m[2]!;
  }
  return rows;
}

describe('cross-venue funding in chat (issue 17)', () => {
  it('/funding BTC on Discord shows the desk first, then the four venues with per-8h and APR from their recorded answers', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'funding', userId: '501', options: { symbol: 'BTC' } });
    const msg = await ix.final({ timeoutMs: 30_000 });
    const embed = msg.embeds[0] as Embed;
    expect(embed.title).toBe('Funding BTC-PERP');
    const desc = embed.description ?? '';
    const rows = tableRows(desc);
    expect(Object.keys(rows)).toEqual(['paper', 'binanceusdm', 'okx', 'bybit', 'hyperliquid']);
    // binanceusdm 0.034012 % per 8 h -> APR 37.24 % (× 1095); okx 0.027815 % -> 30.46 %; bybit 0.01 % -> 10.95 %.
    expect(rows['binanceusdm']).toMatch(/0\.0340%\s+8h\s+0\.0340% est\.\s+0\.0340%\s+37\.24%\s+04:4\d:\d\d/);
    expect(rows['okx']).toMatch(/0\.0278%\s+8h\s+0\.0278% est\.\s+0\.0278%\s+30\.46%/);
    expect(rows['bybit']).toMatch(/0\.0100%\s+8h\s+0\.0100% est\.\s+0\.0100%\s+10\.95%/);
    // Hyperliquid pays hourly: 0.00125 % per 1 h is 0.01 % per 8 h and 10.95 % APR, with its own prediction.
    expect(rows['hyperliquid']).toMatch(/0\.00125%\s+1h\s+0\.00125%\s+0\.0100%\s+10\.95%\s+00:4\d:\d\d/);
    expect(desc).toContain('/spread for the best pair');
    expect(relay.unmatched).toEqual([]);
  });

  it('/spread BTC on Telegram names the best pair and its APR difference after taker fees', async () => {
    // The venue sampler's scheduler fires once at start-up: the history behind "gap held".
    await eventually(async () => (await t.app.ctx.venues!.history.since('BTC-PERP', 0)).length > 0, 30_000, 'a venue sample');
    const text = await ask(GROUP, '/spread BTC', 7001);
    expect(text).toContain('Spread BTC-PERP');
    expect(text).toContain('short binanceusdm (APR 37.24%)');
    const rows = tableRows(text.replace(/<[^>]+>/g, ''));
    expect(Object.keys(rows)).toEqual(['paper', 'binanceusdm', 'okx', 'bybit', 'hyperliquid']);
    // Fees from ccxt's market data: binanceusdm taker 0.05 % and the long leg's; 2 × (both) in and out over 7 days.
    expect(text).toMatch(/binanceusdm 0\.050% \(ccxt market data\)/);
    expect(text).toMatch(/After taker fees in and out \(7-day hold\):<\/b> -?\d+\.\d\d%/);
    // The sampler ran once at start-up (its scheduler fires at once): the gap holds since that sample.
    expect(text).toMatch(/Gap held:<\/b> \d+ min \(since 2024-03-13 11:\d\d:\d\d UTC, the venue sampler's samples\)/);
  });

  it('/funding BTC on Telegram with okx hanging: okx says timeout, the other venues keep their numbers', async () => {
    relay.fault('okx', { kind: 'hang' });
    const t0 = Date.now();
    const text = (await ask(GROUP, '/funding BTC', 7001)).replace(/<[^>]+>/g, '');
    expect(Date.now() - t0).toBeLessThan(20_000);
    const rows = tableRows(text);
    expect(rows['okx']).toMatch(/^timeout$/);
    expect(rows['binanceusdm']).toMatch(/37\.24%/);
    expect(rows['bybit']).toMatch(/10\.95%/);
    expect(rows['hyperliquid']).toMatch(/10\.95%/);
    expect(text).toContain('okx: no answer within 5.0 s.');
    // A failed venue sorts last.
    expect(Object.keys(rows).at(-1)).toBe('okx');
  });

  it('/spread BTC on Discord with bybit rate-limiting: its row says so with the Retry-After, the pair comes from the rest', async () => {
    relay.fault('bybit', { kind: 'rate_limit', retryAfterS: 1 });
    const ix = discord.dispatchSlashCommand({ name: 'spread', userId: '501', options: { symbol: 'BTC' } });
    expect((await ix.firstResponse()).callbackType).toBe(5); // slow: deferred first
    const embed = (await ix.final({ timeoutMs: 30_000 })).embeds[0] as Embed;
    const rows = tableRows(embed.description ?? '');
    expect(rows['bybit']).toMatch(/^rate-limited 1s$/);
    expect(embed.description).toContain('bybit: rate-limited (Retry-After 1 s).');
    const pair = embed.fields.find((f) => f.name === 'Best pair')!.value;
    expect(pair).toContain('short binanceusdm');
    expect(pair).not.toContain('bybit');
  });
});
