/**
 * Telegram conventions (issue 13) through the real telegraf client against the stand-in: command menus by scope,
 * commands typed while PerpDesk was down are not run later, forwarded and edited commands and channel posts are not
 * run, and a group upgraded to a supergroup keeps its subscription and its alert-chat role.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ask as askIn, telegramEnv } from '../support/telegram.js';
import type { AlertInput } from '../../src/services/alerts/types.js';

const TRADER = 1001;
const APPROVER = 2002;
const ADMIN = 9001; // never opened a chat with the bot
const ALERT_GROUP = -500;
const ALERT_SUPERGROUP = -1_000_000_000_500;
const TEAM_GROUP = -600;
const TEAM_SUPERGROUP = -1_000_000_000_600;
const QUIET_GROUP = -700;
const QUIET_SUPERGROUP = -1_000_000_000_700;
const STRANGER = 4004;

describe('Telegram conventions (whole app, real telegraf)', () => {
  let tg: TelegramStandIn;
  let t: TestApp;
  let staleUpdate: number;

  beforeAll(async () => {
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
    // Before PerpDesk starts: the trader and the groups have talked to the bot before; an /order typed while it was
    // down (two minutes ago) waits in the queue.
    const twoMinutesAgo = Math.floor(Date.now() / 1000) - 120;
    staleUpdate = tg.sendText({ chatId: TRADER, text: '/order BTC-PERP long 1000 2', date: twoMinutesAgo }).updateId;
    tg.sendText({ chatId: ALERT_GROUP, fromId: TRADER, text: 'hello team', date: twoMinutesAgo });
    tg.sendText({ chatId: APPROVER, text: 'hi', date: twoMinutesAgo });
    t = await startTestApp({
      ...telegramEnv(tg),
      TELEGRAM_ALERT_CHAT_ID: String(ALERT_GROUP),
      PERPDESK_TRADERS: `telegram:${TRADER}`,
      PERPDESK_APPROVERS: `telegram:${APPROVER}`,
      PERPDESK_ADMINS: `telegram:${ADMIN}`,
      PERPDESK_CHATS: `telegram:${TEAM_GROUP},telegram:${QUIET_GROUP}`,
    });
  });

  afterAll(async () => {
    await t?.close();
    await tg?.close();
  });

  const ask = (chatId: number, text: string, fromId?: number) => askIn(tg, chatId, text, fromId);

  const names = (scope?: Record<string, unknown>) => tg.commands(scope ? { scope } : {}).map((c) => c.command);
  const viewerCommands = () => t.app.desk.commands.filter((c) => c.role === 'viewer').map((c) => c.name);

  it('sets the read-only menu by default, the trading menu for traders and the alert chat, and starts although an admin never opened a chat', () => {
    expect(names()).toEqual(viewerCommands());
    expect(names()).not.toContain('order');
    const trading = names({ type: 'chat', chat_id: TRADER });
    expect(trading).toEqual(expect.arrayContaining([...viewerCommands(), 'order', 'close']));
    expect(trading).not.toContain('pause');
    expect(names({ type: 'chat', chat_id: ALERT_GROUP })).toEqual(trading);
    // An approver acts through buttons: the default menu is theirs.
    expect(tg.commands({ scope: { type: 'chat', chat_id: APPROVER } })).toEqual([]);
    // Telegram refuses a menu for a chat that does not exist yet ("chat not found"); start-up went on.
    expect(tg.calls('setMyCommands').some((c) => c.status === 400 && JSON.stringify(c.params).includes(String(ADMIN)))).toBe(true);
  });

  it('does not run a command typed while PerpDesk was down, and says so', async () => {
    await tg.waitForConfirmed(staleUpdate);
    const reply = await tg.waitForMessage(TRADER, (m) => (m.text ?? '').startsWith('Not run'));
    expect(reply.text).toMatch(/^Not run: \/order was sent at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, while PerpDesk was offline\. Send it again if you still want it\.$/);
    expect(await t.app.ctx.approvals.openIds()).toEqual([]);
    // Typed now, the same command is run.
    expect(await ask(TRADER, '/order BTC-PERP long 1000 2')).toContain('Order preview');
    expect(await t.app.ctx.approvals.openIds()).toHaveLength(1);
  });

  it('does not run a forwarded command', async () => {
    const before = await t.app.ctx.approvals.openIds();
    tg.sendText({ chatId: TRADER, text: '/order ETH-PERP short 500 2', forwardedFrom: { userId: APPROVER } });
    const reply = await tg.waitForMessage(TRADER, (m) => (m.text ?? '').includes('was forwarded'));
    expect(reply.text).toBe('Not run: /order was forwarded. Type the command yourself if you want it.');
    expect(await t.app.ctx.approvals.openIds()).toEqual(before);
  });

  it('runs nothing for an edited message or a channel post', async () => {
    const sentBefore = tg.messages(TRADER).length;
    const now = Math.floor(Date.now() / 1000);
    const edited = tg.sendUpdate({
      edited_message: { message_id: 999, from: { id: TRADER, is_bot: false, first_name: 'T' }, chat: { id: TRADER, type: 'private', first_name: 'T' }, date: now - 5, edit_date: now, text: '/order BTC-PERP long 2000 2' },
    });
    const post = tg.sendUpdate({ channel_post: { message_id: 5, chat: { id: -1_000_000_000_999, type: 'channel', title: 'news' }, date: now, text: '/positions' } });
    await tg.waitForConfirmed(edited);
    await tg.waitForConfirmed(post);
    // A message after them is answered, so they were passed over, not still pending.
    expect(await ask(TRADER, '/funding btc')).toContain('Funding BTC-PERP');
    expect(tg.messages(TRADER)).toHaveLength(sentBefore + 1);
    expect(tg.messages(-1_000_000_000_999)).toEqual([]);
  });

  it('keeps the alert chat and a subscription when their groups become supergroups', async () => {
    expect(await ask(TEAM_GROUP, '/subscribe', STRANGER)).toContain('Subscribed to alerts');
    const [, second] = tg.migrateChat(ALERT_GROUP, ALERT_SUPERGROUP, TRADER);
    tg.migrateChat(TEAM_GROUP, TEAM_SUPERGROUP, TRADER);
    await tg.waitForConfirmed(second!);
    await t.app.telegram!.idle();

    const alert: AlertInput = { key: 'mig-1', kind: 'liquidation_risk', severity: 'warning', symbol: 'BTC-PERP', title: 'Liquidation risk after the upgrade', text: 'buffer 14%' };
    await t.app.ctx.alerts.publish(alert);
    await tg.waitForMessage(ALERT_SUPERGROUP, (m) => (m.text ?? '').includes('after the upgrade'), 10_000);
    await tg.waitForMessage(TEAM_SUPERGROUP, (m) => (m.text ?? '').includes('after the upgrade'), 10_000);
    expect(await t.app.ctx.subscriptions.get({ platform: 'telegram', chatId: String(TEAM_SUPERGROUP) })).not.toBeNull();
    expect(await t.app.ctx.subscriptions.get({ platform: 'telegram', chatId: String(TEAM_GROUP) })).toBeNull();

    // Members of the upgraded chats still read, and the alert chat keeps its menu.
    expect(await ask(ALERT_SUPERGROUP, '/funding btc', STRANGER)).toContain('Funding BTC-PERP');
    expect(await ask(TEAM_SUPERGROUP, '/positions', STRANGER)).toContain('Positions');
    expect(names({ type: 'chat', chat_id: ALERT_SUPERGROUP })).toContain('order');
    const audit = (await t.app.ctx.audit.latest(50)).filter((e) => e.action === 'chat.migrated').map((e) => e.subject).sort();
    expect(audit).toEqual([`telegram:${ALERT_GROUP}`, `telegram:${TEAM_GROUP}`]);
  });

  it('learns of an upgrade from a refused send and delivers to the supergroup instead of dropping the chat', async () => {
    expect(await ask(QUIET_GROUP, '/subscribe', STRANGER)).toContain('Subscribed to alerts');
    // The bot misses the service messages: only Telegram's answer to the next send says where the chat went.
    tg.migrateChat(QUIET_GROUP, QUIET_SUPERGROUP, TRADER, { serviceMessages: false });
    await t.app.ctx.alerts.publish({ key: 'mig-2', kind: 'liquidation_risk', severity: 'warning', symbol: 'BTC-PERP', title: 'Liquidation risk, quiet group', text: 'buffer 13%' });
    await tg.waitForMessage(QUIET_SUPERGROUP, (m) => (m.text ?? '').includes('quiet group'), 10_000);
    expect(await t.app.ctx.subscriptions.get({ platform: 'telegram', chatId: String(QUIET_SUPERGROUP) })).not.toBeNull();
    expect(tg.calls('sendMessage').some((c) => c.status === 400 && String(c.params.chat_id) === String(QUIET_GROUP))).toBe(true);
  });
});
