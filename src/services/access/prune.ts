import type { AccessConfig } from '../../config/access.js';
import { isAllowedChat } from '../../config/access.js';
import { isListed } from '../../config/principals.js';
import type { Logger } from '../../log.js';
import type { AuditLog } from '../audit.js';
import type { Subscriptions } from '../alerts/subscriptions.js';
import type { Destination } from '../alerts/types.js';
import { SYSTEM } from '../approvals/store.js';
import type { ChatMigrations } from '../chat-migrations.js';
import type { RuleStore } from '../rules/store.js';

export interface PruneDeps {
  config: AccessConfig;
  subscriptions: Subscriptions;
  audit: AuditLog;
  log: Logger;
  now: () => number;
  /** The Discord server of a channel, when this process knows it (undefined: unknown, the subscription is kept). */
  discordGuildOf?: (channelId: string) => string | undefined;
  /** Earlier ids of upgraded Telegram groups: a supergroup keeps the role its group had. */
  migrations?: ChatMigrations;
}

/**
 * Whether a subscribed chat may still receive alerts under the current lists: an allowed chat, or a Telegram private
 * chat of a listed person (its id is the person's user id). Undefined when it cannot be told here.
 */
export async function subscriptionAllowed(d: Pick<PruneDeps, 'config' | 'discordGuildOf' | 'migrations'>, dest: Destination): Promise<boolean | undefined> {
  if (dest.platform === 'console') return true;
  if (dest.platform === 'telegram') {
    const ids = [dest.chatId, ...((await d.migrations?.origins('telegram', dest.chatId)) ?? [])];
    if (ids.some((chatId) => isAllowedChat(d.config, { platform: 'telegram', chatId }))) return true;
    const privateChat = dest.chatType ? dest.chatType === 'private' : !dest.chatId.startsWith('-');
    return privateChat && isListed({ platform: 'telegram', userId: dest.chatId, displayName: '', roleIds: [] }, d.config);
  }
  if (isAllowedChat(d.config, { platform: 'discord', chatId: dest.chatId })) return true;
  const guildId = d.discordGuildOf?.(dest.chatId);
  if (guildId === undefined) return undefined;
  return isAllowedChat(d.config, { platform: 'discord', chatId: dest.chatId, guildId });
}

/**
 * At start-up, ends the subscriptions of chats that may no longer read (a stranger who subscribed before the desk
 * was closed, a person taken off the lists): alerts are team data. Each removal is audited. Returns how many.
 */
export async function pruneSubscriptions(d: PruneDeps): Promise<number> {
  let removed = 0;
  for (const sub of await d.subscriptions.list()) {
    if ((await subscriptionAllowed(d, sub.dest)) !== false) continue;
    if (!(await d.subscriptions.unsubscribe(sub.dest))) continue;
    removed++;
    await d.audit.append({
      ts: d.now(), ...SYSTEM, action: 'access.unsubscribed', subject: `${sub.dest.platform}:${sub.dest.chatId}`,
      detail: `alerts stopped: this chat is not one of the team's (subscribed by ${sub.by})`,
    });
    d.log.warn({ platform: sub.dest.platform, chat: sub.dest.chatId }, 'subscription of a chat outside the team removed');
  }
  return removed;
}

/**
 * At start-up, removes the `/alert` rules of chats that may no longer receive alerts (the same test as
 * subscriptions): a rule's firings are team data too. Each removal is audited. Returns how many.
 */
export async function pruneRules(d: Omit<PruneDeps, 'subscriptions'> & { rules: RuleStore }): Promise<number> {
  let removed = 0;
  const verdicts = new Map<string, boolean | undefined>();
  for (const rule of await d.rules.all()) {
    const chat = `${rule.dest.platform}:${rule.dest.chatId}`;
    if (!verdicts.has(chat)) verdicts.set(chat, await subscriptionAllowed(d, rule.dest));
    if (verdicts.get(chat) !== false) continue;
    if (!(await d.rules.remove(rule.dest, rule.id))) continue;
    removed++;
    await d.audit.append({
      ts: d.now(), ...SYSTEM, action: 'access.rule_removed', subject: `${chat} ${rule.id}`,
      detail: `alert rule "${rule.text}" removed: this chat is not one of the team's (added by ${rule.by})`,
    });
    d.log.warn({ platform: rule.dest.platform, chat: rule.dest.chatId, rule: rule.id }, 'alert rule of a chat outside the team removed');
  }
  return removed;
}
