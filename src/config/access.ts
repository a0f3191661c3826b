/**
 * Who may read the desk (issue 13): closed by default on every exchange. The console, anyone named in a PERPDESK_*
 * list (viewers, traders, approvers, admins; their other PERPDESK_PEOPLE accounts too), and any member of an allowed
 * chat: PERPDESK_CHATS plus the configured Discord guild, Discord alert channel and Telegram alert chat.
 */
import type { Config } from './env.js';
import { isListed, type Actor, type Platform } from './principals.js';

/** Where a command or click came from. `guildId` is the Discord server (absent in a DM). */
export interface Place {
  platform: Platform;
  chatId: string;
  guildId?: string;
}

export type AccessConfig = Pick<
  Config,
  'DISCORD_GUILD_ID' | 'DISCORD_ALERT_CHANNEL_ID' | 'TELEGRAM_ALERT_CHAT_ID' | 'chats' | 'viewers' | 'traders' | 'approvers' | 'admins' | 'people'
>;

/** The Telegram alert chat's id (a forum chat may carry topic routing after a colon: `-100123:cascade=12`). */
export function telegramAlertChat(c: Pick<Config, 'TELEGRAM_ALERT_CHAT_ID'>): string | undefined {
  return c.TELEGRAM_ALERT_CHAT_ID?.split(':')[0];
}

/** Chats whose members may read, by platform, configured ones included. */
export function allowedChats(c: AccessConfig): { telegram: Set<string>; discordGuilds: Set<string>; discordChannels: Set<string> } {
  const telegram = new Set(c.chats.filter((e) => e.kind === 'telegram').map((e) => e.id));
  const discordGuilds = new Set(c.chats.filter((e) => e.kind === 'discord-guild').map((e) => e.id));
  const discordChannels = new Set(c.chats.filter((e) => e.kind === 'discord-channel').map((e) => e.id));
  const alert = telegramAlertChat(c);
  if (alert) telegram.add(alert);
  if (c.DISCORD_GUILD_ID) discordGuilds.add(c.DISCORD_GUILD_ID);
  if (c.DISCORD_ALERT_CHANNEL_ID) discordChannels.add(c.DISCORD_ALERT_CHANNEL_ID);
  return { telegram, discordGuilds, discordChannels };
}

/** Whether the chat itself is open to its members (the console always is). */
export function isAllowedChat(c: AccessConfig, place: Place): boolean {
  if (place.platform === 'console') return true;
  const a = allowedChats(c);
  if (place.platform === 'telegram') return a.telegram.has(place.chatId);
  return (place.guildId !== undefined && a.discordGuilds.has(place.guildId)) || a.discordChannels.has(place.chatId);
}

/** Whether this person, here, may use the read-only commands. */
export function mayRead(c: AccessConfig, actor: Actor, place: Place): boolean {
  return isListed(actor, c) || isAllowedChat(c, place);
}
