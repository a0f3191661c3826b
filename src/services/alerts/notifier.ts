import type { Reply } from '../../chat/reply.js';

/** Where a delivered message sits, so a follow-up can edit it in place. */
export interface MessageRef {
  platform: 'discord' | 'telegram' | 'console';
  chatId: string;
  messageId: string;
}

export interface NotifyOptions {
  /**
   * The caller already holds this send's place in the chat's flood-limit budget (the notify queue admits every
   * delivery itself). Without it, a transport whose platform limits chats waits for a place first, so command
   * replies, edits of earlier messages and alerts to one chat all share that chat's budget.
   */
  admitted?: boolean;
  /** Deliver without a sound or push: Telegram `disable_notification`, Discord's SuppressNotifications flag. */
  silent?: boolean;
  /** Telegram forum topic (`message_thread_id`) to post in; absent = the chat itself (a forum's General topic). */
  threadId?: number;
}

/**
 * Outbound side of a transport, used by the notify queue and by approval results. Errors thrown carry
 * `retryAfterMs` on platform rate limits (429) and `permanent: true` when the chat can never receive (403 blocked).
 */
export interface Notifier {
  readonly platform: 'discord' | 'telegram' | 'console';
  send(chatId: string, reply: Reply, opts?: NotifyOptions): Promise<MessageRef>;
  edit(ref: MessageRef, reply: Reply, opts?: NotifyOptions): Promise<void>;
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

/** The notifiers of the transports running in this process, by platform. */
export class Notifiers {
  readonly #byPlatform = new Map<Notifier['platform'], Notifier>();

  register(n: Notifier): void {
    this.#byPlatform.set(n.platform, n);
  }

  /** A transport that stopped (this replica lost the chat role) must not be used again. */
  unregister(platform: Notifier['platform']): void {
    this.#byPlatform.delete(platform);
  }

  get(platform: Notifier['platform']): Notifier | undefined {
    return this.#byPlatform.get(platform);
  }

  platforms(): Notifier['platform'][] {
    return [...this.#byPlatform.keys()];
  }
}
