import { describe, it, expect, afterAll } from 'vitest';
import { AlertService } from '../../src/services/alerts/publish.js';
import { AlertAnnouncer } from '../../src/services/alerts/announcer.js';
import { closeTestRedis, deletePrefix, testPrefix, testRedis } from '../support/redis.js';

const redis = testRedis();
const prefix = testPrefix();
const alerts = new AlertService({ store: { redis, prefix }, queuePrefix: `{${prefix}}`, now: () => 1_000 });
afterAll(async () => {
  await alerts.queue.obliterate({ force: true }).catch(() => undefined);
  await alerts.close();
  await deletePrefix(redis, prefix);
  await closeTestRedis();
});

describe('AlertAnnouncer', () => {
  it('announces two orders with the same title in the same millisecond separately', async () => {
    const announcer = new AlertAnnouncer(alerts, () => 1_000);
    const reply = { title: 'Order filled: BTC-PERP', text: 'long 0.01 at 65,000', severity: 'success' as const };
    expect((await announcer.announce('order', reply, 'approval-a')).delivered).toBe(1);
    expect((await announcer.announce('order', reply, 'approval-b')).delivered).toBe(1);
    // The same order announced twice (a retried job) is one alert.
    expect((await announcer.announce('order', reply, 'approval-a')).delivered).toBe(0);
  });
});
