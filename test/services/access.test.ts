import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/services/audit.js';
import { RefusalAudit, type Refusal } from '../../src/services/access/refusals.js';
import { pruneRules, pruneSubscriptions } from '../../src/services/access/prune.js';
import { RuleStore } from '../../src/services/rules/store.js';
import { parseRule } from '../../src/domain/alert-rules.js';
import { Subscriptions } from '../../src/services/alerts/subscriptions.js';
import { ChatMigrations } from '../../src/services/chat-migrations.js';
import { DEFAULT_PREFS } from '../../src/services/alerts/types.js';
import { loadConfig } from '../../src/config/env.js';
import { mayRead } from '../../src/config/access.js';
import { silentLogger } from '../../src/log.js';
import { closeTestRedis, deletePrefix, testPrefix, testRedis } from '../support/redis.js';

const redis = testRedis();
const prefixes: string[] = [];
afterEach(async () => {
  for (const p of prefixes.splice(0)) await deletePrefix(redis, p);
});
afterAll(closeTestRedis);

function store() {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return { redis, prefix };
}

const attempt = (account: string, what = '/positions'): Refusal => ({
  ts: 1, actor: `x (${account})`, platform: 'telegram', account, where: `telegram chat ${account.split(':')[1]} (private)`, what,
});

describe('refused strangers in the audit', () => {
  it('writes one entry per account per window, and the next entry counts the attempts in between', async () => {
    const s = store();
    const audit = new AuditLog(s);
    const refusals = new RefusalAudit(s, audit, 1);
    expect(await refusals.refused(attempt('telegram:1'))).toBe(true);
    for (let i = 0; i < 50; i++) expect(await refusals.refused(attempt('telegram:1', '/risk'))).toBe(false);
    expect(await refusals.refused(attempt('telegram:2'))).toBe(true);
    expect((await audit.latest(100)).filter((e) => e.action === 'access.refused')).toHaveLength(2);

    await new Promise((r) => setTimeout(r, 1_100));
    expect(await refusals.refused(attempt('telegram:1', '/audit'))).toBe(true);
    const latest = (await audit.latest(1))[0]!;
    expect(latest).toMatchObject({ action: 'access.refused', actor: 'x (telegram:1)', subject: 'telegram chat 1 (private)' });
    expect(latest.detail).toBe("/audit: not on the team's lists; 50 more refused attempt(s) since the last entry");
  });

  it('writes at most the global cap per window when many accounts flood at once', async () => {
    const s = store();
    const audit = new AuditLog(s);
    const refusals = new RefusalAudit(s, audit, 60, 5);
    const written = await Promise.all(Array.from({ length: 40 }, (_, i) => refusals.refused(attempt(`telegram:${100 + i}`))));
    expect(written.filter(Boolean)).toHaveLength(5);
    expect(await audit.latest(100)).toHaveLength(5);
  });
});

describe('subscriptions at start-up', () => {
  it('ends the alerts of chats that may not read under the current lists, audited, and keeps the team\'s', async () => {
    const s = store();
    const subs = new Subscriptions(s);
    const audit = new AuditLog(s);
    const sub = (platform: 'telegram' | 'discord', chatId: string, chatType?: 'private' | 'group') =>
      subs.subscribe({ platform, chatId, ...(chatType ? { chatType } : {}) }, DEFAULT_PREFS, 'someone', 1);
    await sub('telegram', '4004', 'private'); // a stranger's private chat
    await sub('telegram', '5005', 'private'); // a listed viewer's private chat
    await sub('telegram', '-100999', 'group'); // an unknown group
    await sub('telegram', '-100777', 'group'); // a listed team chat
    await sub('discord', '222222'); // a channel in another guild
    await sub('discord', '333333'); // a channel in the team guild
    await sub('discord', '444444'); // a channel this process cannot place: kept
    await sub('telegram', '-1000000000888', 'group'); // the team group -888, upgraded to a supergroup: kept
    const migrations = new ChatMigrations(s);
    await migrations.record('telegram', '-888', '-1000000000888');
    const config = loadConfig({ PERPDESK_VIEWERS: 'telegram:5005', PERPDESK_CHATS: 'telegram:-100777,telegram:-888', DISCORD_GUILD_ID: '111111' });
    const guilds: Record<string, string> = { '222222': '999999', '333333': '111111' };
    const removed = await pruneSubscriptions({ config, subscriptions: subs, audit, log: silentLogger, now: () => 5, discordGuildOf: (id) => guilds[id], migrations });
    expect(removed).toBe(3);
    expect((await subs.list()).map((x) => `${x.dest.platform}:${x.dest.chatId}`).sort()).toEqual(['discord:333333', 'discord:444444', 'telegram:-1000000000888', 'telegram:-100777', 'telegram:5005']);
    const entries = (await audit.latest(10)).filter((e) => e.action === 'access.unsubscribed');
    expect(entries.map((e) => e.subject).sort()).toEqual(['discord:222222', 'telegram:-100999', 'telegram:4004']);
    expect(entries[0]).toMatchObject({ actor: 'PerpDesk', platform: 'system' });
  });
});

describe('alert rules at start-up', () => {
  it('removes the rules of chats that may no longer receive alerts, audited, and keeps the team\'s', async () => {
    const s = store();
    const rules = new RuleStore(s);
    const audit = new AuditLog(s);
    const p = parseRule('price BTC-PERP < 1');
    if (!p.ok) throw new Error('bad rule');
    const add = (chatId: string, chatType: 'private' | 'group', threshold = 1) =>
      rules.add({ platform: 'telegram', chatId, chatType }, `price BTC-PERP < ${threshold}`, { ...p.rule, threshold }, 'someone', 1);
    await add('-100777', 'group'); // a team chat
    await add('-100999', 'group'); // a group taken off the lists, with two rules
    await add('-100999', 'group', 2);
    await add('5005', 'private'); // a listed viewer's private chat
    await add('4004', 'private'); // someone no longer listed
    const config = loadConfig({ PERPDESK_VIEWERS: 'telegram:5005', PERPDESK_CHATS: 'telegram:-100777' });
    expect(await pruneRules({ config, rules, audit, log: silentLogger, now: () => 5 })).toBe(3);
    expect((await rules.all()).map((r) => r.dest.chatId).sort()).toEqual(['-100777', '5005']);
    const entries = (await audit.latest(10)).filter((e) => e.action === 'access.rule_removed');
    expect(entries.map((e) => e.subject).sort()).toEqual(['telegram:-100999 r1', 'telegram:-100999 r2', 'telegram:4004 r1']);
    expect(entries[0]).toMatchObject({ actor: 'PerpDesk', platform: 'system' });
  });
});

describe('access policy', () => {
  const who = (platform: 'discord' | 'telegram' | 'console', userId: string, roleIds: string[] = []) => ({ platform, userId, displayName: userId, roleIds });
  const c = loadConfig({
    DISCORD_GUILD_ID: '111111', DISCORD_ALERT_CHANNEL_ID: '222222', TELEGRAM_ALERT_CHAT_ID: '-100777',
    PERPDESK_VIEWERS: 'discord-role:555555', PERPDESK_TRADERS: 'discord:666666', PERPDESK_PEOPLE: 'ann=discord:666666+telegram:42',
  });

  it.each([
    ['the console', who('console', 'console'), { platform: 'console' as const, chatId: 'console' }, true],
    ['anyone in the configured guild', who('discord', '1'), { platform: 'discord' as const, chatId: '9', guildId: '111111' }, true],
    ['anyone in the alert channel', who('discord', '1'), { platform: 'discord' as const, chatId: '222222', guildId: '333333' }, true],
    ['anyone in the Telegram alert chat', who('telegram', '1'), { platform: 'telegram' as const, chatId: '-100777' }, true],
    ['a member of another guild', who('discord', '1'), { platform: 'discord' as const, chatId: '9', guildId: '333333' }, false],
    ['a stranger in a DM', who('discord', '1'), { platform: 'discord' as const, chatId: '9' }, false],
    ['a viewer role elsewhere', who('discord', '1', ['555555']), { platform: 'discord' as const, chatId: '9', guildId: '333333' }, true],
    ['a trader in a DM', who('discord', '666666'), { platform: 'discord' as const, chatId: '9' }, true],
    ["the trader's Telegram account (PERPDESK_PEOPLE)", who('telegram', '42'), { platform: 'telegram' as const, chatId: '42' }, true],
    ['a stranger on Telegram', who('telegram', '43'), { platform: 'telegram' as const, chatId: '43' }, false],
  ])('%s: %s', (_what, actor, place, expected) => {
    expect(mayRead(c, actor, place)).toBe(expected);
  });
});
