import type { Reply } from '../../commands/reply.js';
import type { ButtonResult, CommandDef } from '../../commands/define.js';
import type { Invocation } from '../../commands/context.js';

/**
 * What a transport sees of PerpDesk: run a command, press a button, list commands, suggest symbols.
 * Transports translate wire <-> Invocation/Reply through this and nothing else.
 */
export interface Desk {
  readonly commands: readonly CommandDef[];
  command(name: string, rawArgs: Record<string, unknown>, inv: Invocation): Promise<Reply>;
  button(customId: string, inv: Invocation): Promise<ButtonResult>;
  suggestSymbols(partial: string): Promise<string[]>;
}

/** Where a delivered message sits, so a follow-up can edit it in place. */
export interface MessageRef {
  platform: 'discord' | 'telegram' | 'console';
  chatId: string;
  messageId: string;
}

/**
 * Outbound side of a transport, used by the notify queue and by approval results. Errors thrown carry
 * `retryAfterMs` on platform rate limits (429) and `permanent: true` when the chat can never receive (403 blocked).
 */
export interface Notifier {
  readonly platform: 'discord' | 'telegram' | 'console';
  send(chatId: string, reply: Reply): Promise<MessageRef>;
  edit(ref: MessageRef, reply: Reply): Promise<void>;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}
