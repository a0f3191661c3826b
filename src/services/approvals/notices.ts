import type { Logger } from '../../log.js';
import type { Announcer } from '../alerts/announce.js';
import { orderAlert, renderApproval } from './render.js';
import type { ApprovalRecord } from './types.js';
import type { MessageRefs } from '../alerts/message-refs.js';
import type { Notifiers } from '../alerts/notifier.js';
import type { PreviewEditQueue } from './preview-edits.js';

export interface ApprovalNoticesDeps {
  messageRefs: MessageRefs;
  notifiers: Notifiers;
  announcer: Announcer;
  log: Logger;
  /** Where edits go that this process cannot make (no transport for the platform here): the leader's queue. */
  previewEdits?: Pick<PreviewEditQueue, 'request'>;
}

/**
 * Tells people about an approval's new state: every chat message showing the preview is edited in place (buttons
 * gone once decided), and a filled or failed order is announced as an "order" alert. Delivery problems are logged,
 * never thrown: the state is already persisted and must not be rolled back by a chat outage.
 */
/** A chat to leave out: the one whose button click already updates its own message. */
export interface ChatRef {
  platform: string;
  chatId: string;
}

export class ApprovalNotices {
  constructor(private readonly d: ApprovalNoticesDeps) {}

  async updated(rec: ApprovalRecord, except?: ChatRef): Promise<void> {
    const reply = renderApproval(rec);
    const refs = await this.d.messageRefs.get(rec.id).catch((err: unknown) => {
      this.d.log.warn({ err, approvalId: rec.id }, 'could not read preview message refs');
      return [];
    });
    let elsewhere = false;
    await Promise.all(
      refs.map(async (ref) => {
        if (except && ref.platform === except.platform && ref.chatId === except.chatId) return;
        const n = this.d.notifiers.get(ref.platform);
        if (!n) {
          elsewhere = true;
          return;
        }
        try {
          await n.edit(ref, reply);
        } catch (err) {
          this.d.log.warn({ err, approvalId: rec.id, platform: ref.platform }, 'could not edit preview message');
        }
      }),
    );
    if (elsewhere && this.d.previewEdits) {
      await this.d.previewEdits.request(rec).catch((err: unknown) => this.d.log.warn({ err, approvalId: rec.id }, 'could not queue the preview edit'));
    }
  }

  async finalized(rec: ApprovalRecord, except?: ChatRef): Promise<void> {
    await this.updated(rec, except);
    if (rec.status !== 'filled' && rec.status !== 'failed') return;
    try {
      const r = await this.d.announcer.announce('order', orderAlert(rec), rec.id);
      for (const f of r.failed) this.d.log.warn({ approvalId: rec.id, ...f.destination, error: f.error }, 'order alert not delivered');
    } catch (err) {
      this.d.log.warn({ err, approvalId: rec.id }, 'order alert failed');
    }
  }
}
