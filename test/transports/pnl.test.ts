/**
 * `/pnl` through the real clients: the whole app (its exchange wrapped by the ledger at the composition root) on the
 * paper exchange, answering on the Telegram Bot API stand-in and the Discord stand-in. A desk order and a position
 * opened outside PerpDesk, funding settled at several stamps, and the answers checked against the engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { recordFundingSettlements } from '../../src/services/ledger/funding-recorder.js';
import { signedUsd } from '../../src/format.js';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { startDiscordStandIn, type DiscordStandIn } from '../fakes/discord/index.js';
import { discordEnv } from '../support/discord-env.js';
import { telegramEnv } from '../support/telegram.js';
import { TEAM_ENV, TEAM_GROUP } from '../support/desk.js';
import { redisUrl, removeAppData, testPrefix } from '../support/redis.js';

const H = 3_600_000;
const GROUP = Number(TEAM_GROUP);
const USER = 4242;

describe('/pnl on Telegram and Discord (real telegraf and discord.js on the stand-ins)', () => {
  let tg: TelegramStandIn;
  let discord: DiscordStandIn;
  let paper: PaperExchange;
  let app: App;
  const prefix = testPrefix();
  // The paper market runs ten hours behind the desk's clock (and stops an hour behind), so its funding stamps,
  // at least one of every 8 h symbol, have passed by now.
  let paperT = Date.now() - 10 * H;

  beforeAll(async () => {
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
    discord = await startDiscordStandIn({ guildId: '1100000000000000001' });
    paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: prefix, volatilityScale: 0, seed: 7, clock: () => paperT });
    app = await startApp({
      config: loadConfig({ ...TEAM_ENV, ...telegramEnv(tg), ...discordEnv(discord) }),
      log: silentLogger, redisUrl: redisUrl(), exchange: paper, prefix, httpPort: 0, background: false,
    });
    await paper.tick(paperT);
    await paper.setPrice('SOL-PERP', 150);
    await paper.setFunding('SOL-PERP', 0.0004);
    await paper.setFunding('ETH-PERP', 0.0003);
    // A desk order goes through the app's exchange (as the order executor's does); the ETH short does not.
    await app.ctx.exchange.placeOrder({ symbol: 'SOL-PERP', side: 'buy', orderType: 'market', quantity: 20, leverage: 2, reduceOnly: false, timeInForce: 'ioc', clientOrderId: 'pd-solbuy' });
    await paper.placeOrder({ symbol: 'ETH-PERP', side: 'sell', orderType: 'market', quantity: 1, leverage: 2, reduceOnly: false, timeInForce: 'ioc', clientOrderId: 'outside-1' });
    const record = () => recordFundingSettlements({ store: { redis: app.redis, prefix }, ledger: app.ctx.ledger, exchange: app.ctx.exchange, now: () => paperT });
    await record();
    for (let i = 0; i < 27; i++) {
      paperT += 20 * 60_000;
      await paper.tick(paperT);
      await record();
    }
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await paper?.close();
    await tg?.close();
    await discord?.close();
    await removeAppData(prefix);
  });

  it('answers /pnl week with the table, the outside position marked, and the chart as a photo', async () => {
    const history = await paper.fundingHistory();
    const solFunding = history.filter((h) => h.symbol === 'SOL-PERP').reduce((s, h) => s + h.payment, 0);
    const ethFunding = history.filter((h) => h.symbol === 'ETH-PERP').reduce((s, h) => s + h.payment, 0);
    expect(history.filter((h) => h.symbol === 'SOL-PERP' && h.payment !== 0).length).toBeGreaterThanOrEqual(8);
    expect(history.filter((h) => h.symbol === 'ETH-PERP' && h.payment !== 0).length).toBeGreaterThanOrEqual(1);
    const solFee = 20 * (await app.ctx.ledger.orderFills('pd-solbuy'))[0]!.price * 0.0005;

    tg.sendText({ chatId: GROUP, chatType: 'group', fromId: USER, text: '/pnl week' });
    const photo = await tg.waitForMessage(GROUP, (m) => m.kind === 'photo', 20_000);
    expect(photo.file?.filename).toBe('pnl-week.png');
    expect(photo.file?.size).toBeGreaterThan(1000);
    // A short answer rides in the photo's caption; a long one follows as a text message.
    const body = [photo.caption, ...tg.messages(GROUP).filter((m) => m.kind === 'text').map((m) => m.text)].join('\n');
    expect(body).toContain('PnL — last 7 days');
    expect(body).toMatch(new RegExp(`SOL-PERP\\s+\\+?\\$0\\.00\\s+${escape(signedUsd(solFunding))}\\s+${escape(signedUsd(solFee).slice(1))}`));
    expect(body).toMatch(new RegExp(`ETH-PERP †\\s+\\+?\\$0\\.00\\s+${escape(signedUsd(ethFunding))}`));
    expect(body).toContain('ETH-PERP: the short position (1) was opened outside PerpDesk');
    expect(body).toContain('Fees are estimates from the fee schedule');
  }, 30_000);

  it('answers /pnl on Discord with the embed table and the chart attachment, for one symbol', async () => {
    const ix = discord.dispatchSlashCommand({ name: 'pnl', userId: '501', options: { period: 'all', symbol: 'sol' } });
    expect((await ix.firstResponse()).callbackType).toBe(5);
    const msg = await ix.final({ timeoutMs: 20_000 });
    const embed = msg.embeds[0] as { title: string; description?: string; image: { url: string } };
    expect(embed.title).toBe('PnL — since the ledger began — SOL-PERP');
    expect(JSON.stringify(msg.embeds)).toContain('SOL-PERP');
    expect(JSON.stringify(msg.embeds)).not.toContain('ETH-PERP');
    expect(embed.image.url).toBe('attachment://pnl-all-SOL-PERP.png');
    expect(msg.attachments.find((a) => a.filename === 'pnl-all-SOL-PERP.png')!.size).toBeGreaterThan(1000);
  }, 30_000);

  it('says so when a period or symbol has nothing, and answers bad input clearly', async () => {
    const empty = await askText('/pnl day BTC-PERP');
    expect(empty).toContain('No fills of PerpDesk orders and no funding settlements in this period for BTC-PERP.');
    expect(await askText('/pnl year')).toContain('period must be one of: day, week, month, all');
    expect(await askText('/pnl day BTX')).toContain('Unknown symbol BTX.');
  }, 30_000);

  async function askText(text: string): Promise<string> {
    const before = tg.messages(GROUP).at(-1)?.messageId ?? 0;
    tg.sendText({ chatId: GROUP, chatType: 'group', fromId: USER, text });
    const m = await tg.waitForMessage(GROUP, (x) => x.messageId > before, 10_000);
    return m.text ?? m.caption ?? '';
  }
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\$]/g, '\\$&');
}
