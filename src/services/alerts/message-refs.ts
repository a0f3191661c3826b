import { z } from 'zod';
import { key, type Store } from '../store.js';

export const MessageRefSchema = z.object({
  platform: z.enum(['discord', 'telegram', 'console']),
  chatId: z.string(),
  messageId: z.string(),
});
export type StoredMessageRef = z.infer<typeof MessageRefSchema>;

/**
 * Where tracked messages landed (order previews, critical alerts), by track key, so a later state change edits
 * them in place. Several refs per key: one preview can be mirrored on several chats.
 */
export class MessageRefs {
  constructor(
    private readonly store: Store,
    private readonly ttlSeconds = 7 * 86_400,
  ) {}

  async add(track: string, ref: StoredMessageRef): Promise<void> {
    const k = key(this.store, 'msgref', track);
    await this.store.redis.multi().sadd(k, JSON.stringify(MessageRefSchema.parse(ref))).expire(k, this.ttlSeconds).exec();
  }

  async get(track: string): Promise<StoredMessageRef[]> {
    const raw = await this.store.redis.smembers(key(this.store, 'msgref', track));
    return raw.flatMap((r) => {
      const p = MessageRefSchema.safeParse(JSON.parse(r));
      return p.success ? [p.data] : [];
    });
  }
}
