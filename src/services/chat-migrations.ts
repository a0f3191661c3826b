import type { Logger } from '../log.js';
import type { AuditLog } from './audit.js';
import type { Subscriptions } from './alerts/subscriptions.js';
import type { RuleStore } from './rules/store.js';
import { SYSTEM } from './approvals/store.js';
import { key, type Store } from './store.js';

/** A chain of upgrades longer than this is a loop or garbage, not Telegram. */
const MAX_HOPS = 5;

/**
 * Chats that moved to a new id: a Telegram group upgraded to a supergroup (`migrate_to_chat_id`) keeps its members
 * and history under a new id, so whatever the old id was (the alert chat, a subscriber, an allowed chat) the new one
 * is too. Kept in Redis so a restart still knows.
 */
export class ChatMigrations {
  constructor(private readonly store: Store) {}

  #to(platform: string): string {
    return key(this.store, 'chats', 'migrated', platform);
  }

  #from(platform: string, chatId: string): string {
    return key(this.store, 'chats', 'origins', platform, chatId);
  }

  /** Records the move; resolves to false when it was already known. */
  async record(platform: string, from: string, to: string): Promise<boolean> {
    if (from === to) return false;
    const [[, isNew]] = (await this.store.redis.multi().hset(this.#to(platform), from, to).sadd(this.#from(platform, to), from).exec()) as [[Error | null, number], unknown];
    return isNew === 1;
  }

  /** Where a chat lives now (itself when it never moved). */
  async current(platform: string, chatId: string): Promise<string> {
    let id = chatId;
    for (let i = 0; i < MAX_HOPS; i++) {
      const next = await this.store.redis.hget(this.#to(platform), id);
      if (!next || next === chatId) return id;
      id = next;
    }
    return id;
  }

  /** Every earlier id of a chat (empty when it never moved). */
  async origins(platform: string, chatId: string): Promise<string[]> {
    const out: string[] = [];
    let frontier = [chatId];
    for (let i = 0; i < MAX_HOPS && frontier.length; i++) {
      const next: string[] = [];
      for (const id of frontier) for (const o of await this.store.redis.smembers(this.#from(platform, id))) if (!out.includes(o) && o !== chatId) next.push(o);
      out.push(...next);
      frontier = next;
    }
    return out;
  }
}

export interface MigrateDeps {
  migrations: ChatMigrations;
  subscriptions: Subscriptions;
  /** The chat's `/alert` rules move with it. */
  rules?: RuleStore;
  audit: AuditLog;
  log: Logger;
  now: () => number;
}

/**
 * A chat moved (`from` → `to`): remembered, its subscription moved with its filters, audited once. Telegram tells us
 * twice (a service message in each chat) and a failed send says it too; only the first time changes anything.
 */
export async function chatMigrated(d: MigrateDeps, platform: 'telegram', from: string, to: string): Promise<void> {
  if (!(await d.migrations.record(platform, from, to))) return;
  const sub = await d.subscriptions.get({ platform, chatId: from });
  if (sub) {
    await d.subscriptions.subscribe({ platform, chatId: to, chatType: 'group' }, sub.prefs, sub.by, sub.since);
    await d.subscriptions.unsubscribe({ platform, chatId: from });
  }
  const rules = (await d.rules?.move({ platform, chatId: from, chatType: 'group' }, { platform, chatId: to, chatType: 'group' })) ?? 0;
  await d.audit.append({
    ts: d.now(), ...SYSTEM, action: 'chat.migrated', subject: `${platform}:${from}`,
    detail: `the group became supergroup ${to}; its subscription, roles${rules ? ` and ${rules} alert rule(s)` : ''} moved with it`,
  });
  d.log.info({ platform, from, to, subscribed: Boolean(sub), rules }, 'chat migrated');
}
