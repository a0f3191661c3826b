import type { Reply } from '../chat/reply.js';
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
  /** A reply with `track` was delivered at `ref`; PerpDesk stores it to edit the message later. */
  messageSent(track: string, ref: MessageRef): Promise<void>;
  /**
   * For what is not a command (plain text in a private chat): null when this person may use the desk here, else the
   * one line a stranger gets (audited). Commands and buttons check this themselves.
   */
  accessRefusal?(inv: Invocation, what: string): Promise<Reply | null>;
}

export type { MessageRef, Notifier } from '../services/alerts/notifier.js';
export { DeliveryError } from '../services/alerts/notifier.js';
import type { MessageRef } from '../services/alerts/notifier.js';
