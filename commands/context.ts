import type { Exchange } from '../src/exchange/port.js';
import type { Config } from '../src/config/env.js';
import type { Logger } from '../src/log.js';
import type { Actor, Platform } from '../src/config/principals.js';
import type { Services } from '../src/services/services.js';
import type { CommandSummary } from './options.js';

/** What every command and button handler receives: the exchange, config and the Redis-backed services. */
export interface CommandContext extends Services {
  exchange: Exchange;
  config: Config;
  log: Logger;
  now(): number;
  /** The registry's list, for /help. */
  commands: readonly CommandSummary[];
}

/** One command call as a transport saw it. */
export interface Invocation {
  platform: Platform;
  actor: Actor;
  /** Discord channel id, Telegram chat id, or 'console'. */
  chatId: string;
  chatType?: 'private' | 'group';
  /** The Discord server the command came from; absent in a DM and on other platforms. */
  guildId?: string;
  /** The Telegram forum topic (message_thread_id) the command was written in; absent outside topics. */
  threadId?: number;
}
