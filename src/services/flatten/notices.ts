/**
 * Edits every chat message showing a flatten's preview to its current state (buttons gone once decided, the leg
 * report once done). Delivery problems are logged, never thrown: the state is persisted already. Copies on a platform
 * whose transport runs in another process are left to the report, which reaches every alert destination.
 */
import type { Logger } from '../../log.js';
import type { MessageRefs } from '../alerts/message-refs.js';
import type { Notifiers } from '../alerts/notifier.js';
import type { ChatRef } from '../approvals/notices.js';
import { renderFlatten } from './render.js';
import type { FlattenLeg, FlattenRecord } from './types.js';

export class FlattenNotices {
  constructor(private readonly d: { messageRefs: MessageRefs; notifiers: Notifiers; log: Logger }) {}

  async updated(rec: FlattenRecord, legs: readonly FlattenLeg[] | null, except?: ChatRef): Promise<void> {
    const reply = renderFlatten(rec, legs);
    const refs = await this.d.messageRefs.get(rec.id).catch(() => []);
    await Promise.all(refs.map(async (ref) => {
      if (except && ref.platform === except.platform && ref.chatId === except.chatId) return;
      const n = this.d.notifiers.get(ref.platform);
      if (!n) return;
      try {
        await n.edit(ref, reply);
      } catch (err) {
        this.d.log.warn({ err, flattenId: rec.id, platform: ref.platform }, 'could not edit flatten preview');
      }
    }));
  }
}
