import type { Reply } from '../../chat/reply.js';
import type { AnnounceReport, AnnouncementKind, Announcer } from './announce.js';
import type { AlertService } from './publish.js';

/**
 * Announcements (/pause, /resume, order results) through the alert pipeline: durable, paced, to every destination
 * and subscriber. "Delivered" here means queued; the notify worker retries until the platforms accept.
 */
export class AlertAnnouncer implements Announcer {
  constructor(
    private readonly alerts: AlertService,
    private readonly now: () => number,
  ) {}

  async announce(kind: AnnouncementKind, reply: Reply, incident?: string): Promise<AnnounceReport> {
    const at = this.now();
    const title = reply.title ?? (kind === 'order' ? 'Order' : kind === 'trading_paused' ? 'Trading paused' : 'Trading resumed');
    const r = await this.alerts.publish({
      // Every announcement is news: keyed by its incident (an order's approval id) or by time, so two fills in the
      // same millisecond or two pauses a minute apart are all announced.
      key: `announce:${kind}:${incident ?? `${at}:${title}`}`.slice(0, 200),
      kind: kind === 'order' ? 'order' : 'trading',
      severity: reply.severity ?? (kind === 'trading_paused' ? 'critical' : 'info'),
      title,
      text: reply.text,
      fields: reply.fields,
      cooldownMs: 60_000,
      at,
    });
    return { delivered: r.published ? 1 : 0, failed: [] };
  }
}
