/**
 * The queue dashboard (bull-board) at /admin/queues behind HTTP basic auth: a team inspects stuck or failed jobs in
 * the browser. Read-only unless ADMIN_QUEUES_WRITE=true, because retrying or removing an order job by hand bypasses
 * the approval flow's own reconcile. Loaded only when ADMIN_USER and ADMIN_PASSWORD are set.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES } from '../queues/names.js';

export const DASHBOARD_PATH = '/admin/queues';

export interface QueueDashboardOptions {
  redis: Redis;
  queuePrefix: string;
  user: string;
  password: string;
  readOnly: boolean;
}

export interface QueueDashboard {
  /** Handles requests under DASHBOARD_PATH; the caller routes them here. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

// Compare digests, not the strings: equal length whatever was sent, so the time taken says nothing of the secret.
const digest = (s: string) => createHash('sha256').update(s).digest();
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function authorized(header: string | undefined, user: string, password: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Both compared always, so a right user with a wrong password takes as long as a wrong user.
  const okUser = sameSecret(decoded.slice(0, colon), user);
  const okPassword = sameSecret(decoded.slice(colon + 1), password);
  return okUser && okPassword;
}

export async function createQueueDashboard(o: QueueDashboardOptions): Promise<QueueDashboard> {
  const [{ createBullBoard }, { BullMQAdapter }, { ExpressAdapter }, { default: express }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/express'),
    import('express'),
  ]);
  const queues = Object.values(QUEUES).map((name) => new Queue(name, { connection: o.redis, prefix: o.queuePrefix }));
  // The dashboard only reads; during an outage its pages fail, and an unheard 'error' event must not throw.
  for (const q of queues) q.on('error', () => {});
  const adapter = new ExpressAdapter();
  adapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: o.readOnly })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'PerpDesk queues' } },
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(DASHBOARD_PATH, adapter.getRouter());
  return {
    handle(req, res) {
      if (!authorized(req.headers.authorization, o.user, o.password)) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="PerpDesk queues", charset="UTF-8"', 'content-type': 'text/plain; charset=utf-8' });
        res.end('authentication required\n');
        return;
      }
      app(req, res);
    },
    async close() {
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
