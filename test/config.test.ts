import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../src/config/env.js';
import { configTableMarkdown } from '../src/config/table.js';
import { ConfigError } from '../src/errors.js';
import { Secret } from '../src/config/secret.js';
import { inspect } from 'node:util';

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('applies the contract defaults on an empty environment', () => {
    const c = loadConfig({});
    expect(c.EXCHANGE).toBe('paper');
    expect(c.PURPLEFLEA_BASE_URL).toBe('https://purpleflea.com/api/v1');
    expect(c.DISCORD_API_URL).toBe('https://discord.com/api');
    expect(c.TELEGRAM_API_ROOT).toBe('https://api.telegram.org');
    expect(c.ALLOW_SELF_APPROVAL).toBe(true);
    expect(c.APPROVAL_TTL_SECONDS).toBe(120);
    expect(c.APPROVALS_REQUIRED).toBe(1);
    expect(c.MAX_LEVERAGE).toBe(5);
    expect(c.MAX_NOTIONAL_USD).toBe(10_000);
    expect(c.CASCADE_INTERVAL_SECONDS).toBe(30);
    expect(c.HARVESTER_INTERVAL_SECONDS).toBe(300);
    expect(c.RISK_INTERVAL_SECONDS).toBe(30);
    expect(c.HARVESTER_MODE).toBe('propose');
    expect(c.PAPER_EXCHANGE_PORT).toBe(8090);
    expect(c.HTTP_PORT).toBe(8080);
    expect(c.LOG_LEVEL).toBe('info');
  });

  it.each([
    [{ EXCHANGE: 'binance' }, 'EXCHANGE'],
    [{ MAX_LEVERAGE: 'ten' }, 'MAX_LEVERAGE'],
    [{ MAX_LEVERAGE: '-3' }, 'MAX_LEVERAGE'],
    [{ MAX_NOTIONAL_USD: '0' }, 'MAX_NOTIONAL_USD'],
    [{ HTTP_PORT: '70000' }, 'HTTP_PORT'],
    [{ APPROVALS_REQUIRED: '1.5' }, 'APPROVALS_REQUIRED'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ PERPDESK_TRADERS: 'discord:1,slack:2' }, 'PERPDESK_TRADERS'],
    [{ ALLOW_SELF_APPROVAL: 'maybe' }, 'ALLOW_SELF_APPROVAL'],
    [{ HARVESTER_MODE: 'yolo' }, 'HARVESTER_MODE'],
    [{ DISCORD_API_URL: 'ftp://x' }, 'DISCORD_API_URL'],
    [{ EXCHANGE: 'purpleflea' }, 'PURPLEFLEA_API_KEY'],
    [{ EXCHANGE: 'purpleflea', PURPLEFLEA_API_KEY: 'k' }, 'PERPDESK_APPROVERS'],
    [{ DISCORD_TOKEN: 'tok' }, 'DISCORD_APPLICATION_ID'],
  ])('refuses %j naming %s in one line', (env, name) => {
    const msg = errorOf(env as Record<string, string>);
    expect(msg.startsWith(`${name}:`)).toBe(true);
    expect(msg).not.toContain('\n');
  });

  it.each([
    [{ PERPDESK_VIEWERS: 'discord:1,tg:2' }, 'PERPDESK_VIEWERS', '"tg:2"'],
    [{ PERPDESK_CHATS: 'telegram:-100123,slack:9' }, 'PERPDESK_CHATS', '"slack:9"'],
    [{ PERPDESK_CHATS: 'discord-guild:abc' }, 'PERPDESK_CHATS', '"discord-guild:abc"'],
    [{ PERPDESK_PEOPLE: 'alice:discord:111' }, 'PERPDESK_PEOPLE', '"alice:discord:111"'],
    [{ PERPDESK_PEOPLE: 'alice=discord:111+slack:2' }, 'PERPDESK_PEOPLE', '"slack:2"'],
    [{ PERPDESK_PEOPLE: 'alice=discord-role:111' }, 'PERPDESK_PEOPLE', '"discord-role:111"'],
    [{ PERPDESK_PEOPLE: 'alice=' }, 'PERPDESK_PEOPLE', '"alice" has none'],
    [{ PERPDESK_PEOPLE: 'alice=discord:1,alice=telegram:2' }, 'PERPDESK_PEOPLE', '"alice" is listed twice'],
    [{ PERPDESK_PEOPLE: 'alice=discord:111+telegram:222,bob=telegram:222' }, 'PERPDESK_PEOPLE', 'telegram:222 is in both "alice" and "bob"'],
  ])('refuses %j naming %s and the entry %s in one line', (env, name, entry) => {
    const msg = errorOf(env as Record<string, string>);
    expect(msg.startsWith(`${name}:`)).toBe(true);
    expect(msg).toContain(entry);
    expect(msg).not.toContain('\n');
  });

  it('reads viewers, chats and people', () => {
    const c = loadConfig({
      PERPDESK_VIEWERS: 'telegram:5, discord-role:123456',
      PERPDESK_CHATS: 'telegram:-1001234,discord-guild:111111,discord-channel:222222',
      PERPDESK_PEOPLE: 'alice=discord:111+telegram:222, bob=discord:333',
    });
    expect(c.viewers).toEqual([{ kind: 'telegram', id: '5' }, { kind: 'discord-role', id: '123456' }]);
    expect(c.chats).toEqual([{ kind: 'telegram', id: '-1001234' }, { kind: 'discord-guild', id: '111111' }, { kind: 'discord-channel', id: '222222' }]);
    expect(c.people).toEqual([
      { name: 'alice', accounts: [{ platform: 'discord', id: '111' }, { platform: 'telegram', id: '222' }] },
      { name: 'bob', accounts: [{ platform: 'discord', id: '333' }] },
    ]);
    expect(loadConfig({})).toMatchObject({ viewers: [], chats: [], people: [] });
  });

  it('turns off self-approval by default on the real exchange', () => {
    const c = loadConfig({ EXCHANGE: 'purpleflea', PURPLEFLEA_API_KEY: 'k', PERPDESK_APPROVERS: 'discord:123456' });
    expect(c.ALLOW_SELF_APPROVAL).toBe(false);
    expect(c.approvers).toEqual([{ kind: 'discord', id: '123456' }]);
  });

  it('keeps secrets out of string, JSON and inspect output', () => {
    const c = loadConfig({ DISCORD_TOKEN: 'super-secret-token', DISCORD_APPLICATION_ID: '123456789' });
    expect(c.DISCORD_TOKEN).toBeInstanceOf(Secret);
    expect(c.DISCORD_TOKEN!.reveal()).toBe('super-secret-token');
    expect(JSON.stringify(c)).not.toContain('super-secret-token');
    expect(String(c.DISCORD_TOKEN)).not.toContain('super-secret-token');
    expect(inspect(c, { depth: 5 })).not.toContain('super-secret-token');
  });

  it('the README configuration table matches the schema', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const m = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme);
    expect(m?.[1]).toBe(configTableMarkdown());
  });

  it('.env.example lists every variable', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const names = configTableMarkdown().split('\n').slice(2).map((l) => /`([A-Z_]+)`/.exec(l)![1]!);
    for (const n of names) expect(example).toMatch(new RegExp(`^${n}=`, 'm'));
  });
});

describe('TELEGRAM_ALERT_CHAT_ID forum topics', () => {
  it('reads a plain chat id with no topics', () => {
    const c = loadConfig({ TELEGRAM_ALERT_CHAT_ID: '-100123' });
    expect(c.TELEGRAM_ALERT_CHAT_ID).toBe('-100123');
    expect(c.telegramAlertTopics).toEqual({});
  });

  it('routes kinds and groups to topics, the chat id alone staying the chat id', () => {
    const c = loadConfig({ TELEGRAM_ALERT_CHAT_ID: '-100123:cascade=12,risk=14,order=16' });
    expect(c.TELEGRAM_ALERT_CHAT_ID).toBe('-100123');
    expect(c.telegramAlertTopics).toEqual({ cascade: 12, liquidation_risk: 14, leverage: 14, funding_against: 14, order: 16 });
  });

  it('applies entries left to right, so a kind can leave its group', () => {
    const c = loadConfig({ TELEGRAM_ALERT_CHAT_ID: '-100123:risk=14,leverage=20, watchdog=30' });
    expect(c.telegramAlertTopics).toEqual({ liquidation_risk: 14, leverage: 20, funding_against: 14, position: 30, stale: 30, heartbeat: 30 });
  });

  it.each([
    ['-100123:cascade=12,riks=14', /unknown alert kind "riks"; use cascade, liquidation_risk/],
    ['-100123:cascade=twelve', /topic "twelve" is not a topic id/],
    ['-100123:cascade=1', /topic 1 is the General topic: leave the kind out to post there/],
    ['-100123:cascade', /"cascade" is not kind=value/],
    ['-100123:', /expected kind=value entries/],
    ['-4567:cascade=12', /forum topics only in a forum supergroup \(an id starting -100\), not -4567/],
    ['@team', /a Telegram chat id \(integer\), optionally with forum topics/],
  ])('refuses %s with one line naming the variable', (value, why) => {
    const message = errorOf({ TELEGRAM_ALERT_CHAT_ID: value });
    expect(message).toMatch(/^TELEGRAM_ALERT_CHAT_ID: invalid value — expected /);
    expect(message).toMatch(why);
    expect(message).not.toContain('\n');
  });
});
