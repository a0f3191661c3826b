import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackground, type Background } from '../../jobs/background.js';
import { loadConfig } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { startRedisServer, type RedisServerHandle } from '../../src/queues/redis-server.js';
import { closeRedis, createRedis } from '../../src/queues/redis.js';
import { JOB_NAMES } from '../../src/queues/schedulers.js';
import { Notifiers } from '../../src/services/alerts/notifier.js';
import { eventually, RecordingNotifier } from './support/harness.js';

const HOUR = 3_600_000;

describe('Redis restarted mid-run (AOF on)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pd-restart-'));
  let server: RedisServerHandle | undefined;
  const open: { close(): Promise<void> }[] = [];

  afterAll(async () => {
    for (const o of open.reverse()) await o.close().catch(() => undefined);
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should keep the schedulers firing and deliver every alert queued before the restart', async () => {
    server = await startRedisServer({ dataDir: dir });
    const url = server.url;
    const port = server.port;
    const config = loadConfig({ EXCHANGE: 'paper', HTTP_PORT: '0' });
    const prefix = 'pd-restart';
    const queuePrefix = '{pd-restart}';
    const paperRedis = createRedis(url, 'worker');
    paperRedis.on('error', () => {}); // the restart below resets it on purpose
    open.push({ close: () => closeRedis(paperRedis) });
    const paper = await PaperExchange.open({ redis: paperRedis, keyPrefix: prefix, volatilityScale: 0 });
    open.push(paper);
    // Jobs only: nothing delivers, so published alerts stay queued in Redis.
    const jobs: Background = await startBackground({
      redisUrl: url, config, exchange: paper, log: silentLogger, prefix, queuePrefix,
      every: { [JOB_NAMES.cascade]: 1_000, [JOB_NAMES.risk]: HOUR, [JOB_NAMES.reminder]: HOUR, [JOB_NAMES.basis]: HOUR, [JOB_NAMES.harvester]: HOUR },
    });
    open.push(jobs);
    for (const n of [1, 2, 3]) {
      await jobs.services.alerts.publish({ key: `queued-${n}`, kind: 'trading', severity: 'warning', title: `Queued ${n}` });
    }
    await eventually(async () => (await jobs.services.samples.oiSince('BTC-PERP', 0)).length >= 1, 10_000, 'a detector run');

    await server.stop();
    server = await startRedisServer({ dataDir: dir, port });

    const ids = (await jobs.schedulers()).map((s) => s.id).sort();
    // Every job but the venue sampler, which runs only with MARKET_VENUES.
    expect(ids).toEqual(Object.values(JOB_NAMES).filter((n) => n !== JOB_NAMES.venues).sort());
    const restartedAt = Date.now();
    // The detector keeps running on the restored scheduler.
    await eventually(async () => (await jobs.services.samples.oiSince('BTC-PERP', restartedAt)).length >= 2, 10_000, 'detector runs after the restart');

    const notifier = new RecordingNotifier('console');
    const notifiers = new Notifiers();
    notifiers.register(notifier);
    const delivery = await startBackground({ redisUrl: url, config, exchange: paper, log: silentLogger, prefix, queuePrefix, notifiers, schedule: false });
    open.push(delivery);
    await eventually(() => notifier.sent.length >= 3, 10_000, 'queued alerts delivered');
    expect(notifier.sent.map((s) => s.reply.title)).toEqual(['Queued 1', 'Queued 2', 'Queued 3']);
  });
});
