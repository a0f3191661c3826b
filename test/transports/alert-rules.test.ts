/**
 * `/alert` through the real clients: telegraf and discord.js against the stand-ins, in one app whose alert-rules job
 * runs on its scheduler. A fired rule reaches only the chat that owns it, on the wire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscordStandIn, type DiscordStandIn, type StandInInteraction } from '../fakes/discord/index.js';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { redisUrl, removeAppData, testPrefix } from '../support/redis.js';
import { telegramEnv } from '../support/telegram.js';
import { eventually } from '../jobs/support/harness.js';

const GUILD = '1100000000000000021';
const DESK_CHANNEL = '1100000000000000022';
const ALERT_CHANNEL = '1100000000000000023';
const TEAM_GROUP = -1_000_000_000_401;
const ALERT_CHAT = -1_000_000_000_402;
const OUTSIDE_GROUP = -1_000_000_000_403;
const ALICE = 4101;
const ALICE_DISCORD = '4100000000000000001';

describe('/alert through Telegram and Discord (whole app, real clients)', () => {
  let tg: TelegramStandIn;
  let discord: DiscordStandIn;
  let paper: PaperExchange;
  let app: App;
  let prefix: string;

  beforeAll(async () => {
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
    discord = await startDiscordStandIn({ guilds: [{ id: GUILD, channels: [{ id: DESK_CHANNEL }, { id: ALERT_CHANNEL }] }] });
    prefix = testPrefix();
    paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: prefix, volatilityScale: 0, seed: 7 });
    await paper.setPrice('ETH-PERP', 3_500);
    app = await startApp({
      config: loadConfig({
        ...telegramEnv(tg),
        TELEGRAM_ALERT_CHAT_ID: String(ALERT_CHAT),
        DISCORD_TOKEN: discord.token, DISCORD_APPLICATION_ID: discord.applicationId, DISCORD_API_URL: discord.url,
        DISCORD_GUILD_ID: GUILD, DISCORD_ALERT_CHANNEL_ID: ALERT_CHANNEL,
        PERPDESK_CHATS: `telegram:${TEAM_GROUP}`,
        PERPDESK_VIEWERS: `telegram:${ALICE}`,
      }),
      log: silentLogger, redisUrl: redisUrl(), exchange: paper, prefix, httpPort: 0,
      background: { every: { 'alert-rules': 300 } },
    });
  });

  afterAll(async () => {
    await app?.close();
    await tg?.close();
    await discord?.close();
    await removeAppData(prefix);
  });

  async function say(chatId: number, text: string, fromId = ALICE): Promise<string> {
    const before = tg.messages(chatId).at(-1)?.messageId ?? 0;
    tg.sendText({ chatId, text, fromId });
    const m = await tg.waitForMessage(chatId, (x) => x.messageId > before, 10_000);
    return m.text ?? '';
  }

  const slash = (options: Record<string, string>, channelId = DESK_CHANNEL): StandInInteraction =>
    discord.dispatchSlashCommand({ name: 'alert', userId: ALICE_DISCORD, channelId, options });
  const shown = async (ix: StandInInteraction) => JSON.stringify(await ix.final({ timeoutMs: 10_000 }));

  it('adds, lists and removes rules in a Telegram group, with the usage for a rule it cannot read', async () => {
    expect(await say(TEAM_GROUP, '/alert add price eth < 3000')).toMatch(/Alert rule r1 added[\s\S]*price ETH-PERP &lt; 3000/);
    const bad = await say(TEAM_GROUP, '/alert add funding btc > 0.05');
    expect(bad).toMatch(/needs a %/);
    expect(bad).toMatch(/Usage: \/alert add &lt;rule&gt;[\s\S]*funding BTC-PERP apr &gt; 30%/);
    expect(await say(TEAM_GROUP, '/alert add price ETX < 5')).toMatch(/Unknown symbol ETX\. Closest: ETH-PERP/);
    expect(await say(TEAM_GROUP, '/alert add funding btc apr > 30%')).toMatch(/r2 added/);
    const listed = await say(TEAM_GROUP, '/alert list');
    expect(listed).toMatch(/r1[\s\S]*price ETH-PERP/);
    expect(listed).toMatch(/r2[\s\S]*funding BTC-PERP apr/);
    expect(await say(TEAM_GROUP, '/alert remove r2')).toMatch(/Alert rule r2 removed: funding BTC-PERP apr/);
    expect(await say(TEAM_GROUP, '/alert remove r2')).toMatch(/This chat has no rule r2\. Its rules: r1\./);
  });

  it('refuses rules in a group the desk does not serve, even from a listed person', async () => {
    expect(await say(OUTSIDE_GROUP, '/alert add price eth < 3000')).toMatch(/Alert rules go only to the team's chats/);
  });

  it('adds and lists rules with the Discord slash command', async () => {
    expect(await shown(slash({ action: 'add', rule: 'price eth < 3100' }))).toMatch(/Alert rule r1 added/);
    expect(await shown(slash({ action: 'add', rule: 'oi btc 1h < 5' }))).toMatch(/needs a %/);
    const list = await shown(slash({ action: 'list' }));
    expect(list).toMatch(/price ETH-PERP < 3100/);
    expect(list).toMatch(/armed|not yet/);
  });

  it('delivers a fired rule to the chat that owns it only, once, on the wire', async () => {
    const ruleAlert = /Alert rule r1 — price ETH-PERP/;
    await paper.setPrice('ETH-PERP', 2_950); // below both chats' rules
    const inGroup = await tg.waitForMessage(TEAM_GROUP, (m) => ruleAlert.test(m.text ?? ''), 15_000);
    expect(inGroup.text).toMatch(/price ETH-PERP &lt; 3000/);
    await eventually(() => discord.channelMessages(DESK_CHANNEL).find((m) => ruleAlert.test(JSON.stringify(m.embeds))), 15_000, 'the Discord rule alert');
    // More runs at the same price: no second alert; the alert chats never see a chat's own rule.
    const runsBefore = await app.redis.hget(`${prefix}:rules:state`, `telegram:${TEAM_GROUP}|r1`);
    await eventually(async () => (await app.redis.hget(`${prefix}:rules:state`, `telegram:${TEAM_GROUP}|r1`)) !== runsBefore, 10_000, 'another run');
    await eventually(async () => {
      const c = await app.ctx.alerts.queue.getJobCounts('waiting', 'active', 'delayed');
      return (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0;
    }, 10_000, 'notify queue drained');
    expect(tg.messages(TEAM_GROUP).filter((m) => ruleAlert.test(m.text ?? ''))).toHaveLength(1);
    expect(discord.channelMessages(DESK_CHANNEL).filter((m) => ruleAlert.test(JSON.stringify(m.embeds)))).toHaveLength(1);
    expect(tg.messages(ALERT_CHAT).filter((m) => /Alert rule/.test(m.text ?? ''))).toHaveLength(0);
    expect(discord.channelMessages(ALERT_CHANNEL).filter((m) => /Alert rule/.test(JSON.stringify(m.embeds)))).toHaveLength(0);
    expect(await say(TEAM_GROUP, '/alert list')).toMatch(/fired/);
  });

  it('moves a group’s rules and their state to its supergroup when Telegram upgrades it', async () => {
    const SUPERGROUP = -1_000_000_000_499;
    const [, second] = tg.migrateChat(TEAM_GROUP, SUPERGROUP, ALICE);
    await tg.waitForConfirmed(second!);
    await app.telegram!.idle();
    const listed = await say(SUPERGROUP, '/alert list');
    expect(listed).toMatch(/r1[\s\S]*price ETH-PERP &lt; 3000[\s\S]*fired/);
    expect(await app.ctx.rules.list({ platform: 'telegram', chatId: String(TEAM_GROUP) })).toEqual([]);
    expect((await app.ctx.audit.latest(20)).find((e) => e.action === 'chat.migrated')?.detail).toMatch(/and 1 alert rule\(s\) moved/);
  });
});
