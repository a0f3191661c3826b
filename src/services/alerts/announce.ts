/**
 * Announcements to every alert destination (interfaces.md §4) for the kinds this module raises: "order" and
 * "trading paused / resumed". `Announcer` is the seam: the app and the workers announce through the alert pipeline
 * (AlertAnnouncer: durable, paced, every subscriber); `DirectAnnouncer` serves services built without it (tests). It
 * sends through the transports' notifiers without `admitted`, so a rate-limited platform's transport still makes each
 * send wait for its place in the chat's budget.
 */
import type { Reply } from '../../chat/reply.js';
import type { Config } from '../../config/env.js';
import type { Notifier, Notifiers } from './notifier.js';

export type AnnouncementKind = 'order' | 'trading_paused' | 'trading_resumed';

export interface Destination {
  platform: Notifier['platform'];
  chatId: string;
}

export interface AnnounceReport {
  delivered: number;
  failed: { destination: Destination; error: string }[];
}

export interface Announcer {
  /** `incident` names what is announced (e.g. the approval id) so two announcements are never merged as duplicates. */
  announce(kind: AnnouncementKind, reply: Reply, incident?: string): Promise<AnnounceReport>;
}

/** The team alert chats of the configuration; the console always, when a console transport runs. */
export function alertDestinations(config: Pick<Config, 'DISCORD_ALERT_CHANNEL_ID' | 'TELEGRAM_ALERT_CHAT_ID'>): Destination[] {
  const out: Destination[] = [{ platform: 'console', chatId: 'console' }];
  if (config.DISCORD_ALERT_CHANNEL_ID) out.push({ platform: 'discord', chatId: config.DISCORD_ALERT_CHANNEL_ID });
  if (config.TELEGRAM_ALERT_CHAT_ID) out.push({ platform: 'telegram', chatId: config.TELEGRAM_ALERT_CHAT_ID });
  return out;
}

export class DirectAnnouncer implements Announcer {
  constructor(
    private readonly notifiers: Notifiers,
    private readonly destinations: readonly Destination[],
  ) {}

  async announce(_kind: AnnouncementKind, reply: Reply): Promise<AnnounceReport> {
    const report: AnnounceReport = { delivered: 0, failed: [] };
    await Promise.all(
      this.destinations.map(async (destination) => {
        // A destination whose transport is not running in this process is skipped, not an error.
        const n = this.notifiers.get(destination.platform);
        if (!n) return;
        try {
          await n.send(destination.chatId, { ...reply, buttons: undefined, ephemeral: false });
          report.delivered += 1;
        } catch (e) {
          report.failed.push({ destination, error: e instanceof Error ? e.message : String(e) });
        }
      }),
    );
    return report;
  }
}
