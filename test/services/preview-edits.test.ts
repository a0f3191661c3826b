/**
 * An order placed by a process without the chat transports (a worker, a follower replica) still updates its
 * preview messages: the edit travels through the previews queue to the process that holds the transports.
 */
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { QUEUES } from '../../src/queues/names.js';
import { silentLogger } from '../../src/log.js';
import { Notifiers } from '../../src/services/alerts/notifier.js';
import { ApprovalNotices } from '../../src/services/approvals/notices.js';
import { startPreviewEditWorker } from '../../src/services/approvals/preview-edits.js';
import { RecordingNotifier } from '../jobs/support/harness.js';
import { approvedWithoutWorker, eventually, makeHarness, reachStatus, type Harness } from './approvals-harness.js';
import { redisUrl } from '../support/redis.js';

let h: Harness | undefined;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  if (h) {
    const q = new Queue(QUEUES.previews, { connection: h.redis, prefix: h.queuePrefix });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
    await h.ctx.previewEdits.close();
    await h.close();
  }
});

describe('preview edits across processes', () => {
  it('when a worker without Discord fills the order, the leader edits the Discord preview to the filled state', async () => {
    h = await makeHarness();
    const id = await approvedWithoutWorker(h); // preview posted in the team's Discord chat
    // The leader: Discord's notifier lives here, and so does the previews worker.
    const discord = new RecordingNotifier('discord');
    const leaderNotifiers = new Notifiers();
    leaderNotifiers.register(discord);
    const notices = new ApprovalNotices({ messageRefs: h.ctx.messageRefs, notifiers: leaderNotifiers, announcer: h.ctx.announcer, log: silentLogger });
    const previews = startPreviewEditWorker({ redisUrl: redisUrl(), prefix: h.queuePrefix, approvals: h.ctx.approvals, edit: (rec) => notices.updated(rec), log: silentLogger });
    closers.push(() => previews.close());

    // The worker process: its notifiers know no Discord.
    h.ctx.notifiers.unregister('discord');
    await h.startWorker();
    await reachStatus(h, id, 'filled');
    const edit = await eventually(() => discord.edits.find((e) => /Filled/i.test(e.reply.text ?? '')));
    expect(edit.ref).toMatchObject({ platform: 'discord', messageId: 'preview-1' });
    expect(edit.reply.buttons ?? []).toEqual([]);
  });
});
