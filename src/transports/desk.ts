import type { Reply } from '../chat/reply.js';
import type { ButtonResult, ClickProgress, CommandDef } from '../../commands/define.js';
import type { CommandContext, Invocation } from '../../commands/context.js';
import { buttons, commands, dispatch, dispatchButton } from '../../commands/registry.js';
import { accessRefusal } from '../../commands/access.js';
import { identify } from '../../commands/identity.js';
import { chatMigrated } from '../services/chat-migrations.js';

/**
 * What a transport sees of PerpDesk: run a command, press a button, list commands, suggest symbols.
 * Transports translate wire <-> Invocation/Reply through this and nothing else.
 */
export interface Desk {
  readonly commands: readonly CommandDef[];
  command(name: string, rawArgs: Record<string, unknown>, inv: Invocation): Promise<Reply>;
  /** `progress` hears, e.g., that the click waits for another one's decision (a transport may acknowledge it then). */
  button(customId: string, inv: Invocation, progress?: ClickProgress): Promise<ButtonResult>;
  suggestSymbols(partial: string): Promise<string[]>;
  /** A reply with `track` was delivered at `ref`; PerpDesk stores it to edit the message later. */
  messageSent(track: string, ref: MessageRef): Promise<void>;
  /**
   * For what is not a command (plain text in a private chat): null when this person may use the desk here, else the
   * one line a stranger gets (audited). Commands and buttons check this themselves.
   */
  accessRefusal?(inv: Invocation, what: string): Promise<Reply | null>;
  /** A chat moved to a new id (a Telegram group upgraded to a supergroup): it keeps its subscription and roles. */
  chatMigrated?(platform: 'telegram', from: string, to: string): Promise<void>;
  /** Where a chat lives now, after any such move. */
  currentChat?(platform: 'telegram', chatId: string): Promise<string>;
}

/** The desk over a command context: the registry's commands and buttons, and the services transports report to. */
export function deskFor(ctx: CommandContext): Desk {
  return {
    commands,
    command: (name, args, inv) => dispatch(ctx, commands, name, args, inv),
    button: (id, inv, progress) => dispatchButton(ctx, buttons, id, inv, progress),
    suggestSymbols: (partial) => ctx.market.suggest(partial).catch(() => []),
    messageSent: (track, ref) => ctx.messageRefs.add(track, ref),
    accessRefusal: (inv, what) => accessRefusal(ctx, identify(ctx, inv), what),
    chatMigrated: (platform, from, to) =>
      chatMigrated({ migrations: ctx.chatMigrations, subscriptions: ctx.subscriptions, rules: ctx.rules, audit: ctx.audit, log: ctx.log, now: ctx.now }, platform, from, to),
    currentChat: (platform, chatId) => ctx.chatMigrations.current(platform, chatId),
  };
}

export type { MessageRef, Notifier } from '../services/alerts/notifier.js';
export { DeliveryError } from '../services/alerts/notifier.js';
import type { MessageRef } from '../services/alerts/notifier.js';
