/**
 * The dead man's switch on real parts: the bot as a real child process (startApp) beating into the test's Redis,
 * killed with SIGKILL; the replica that survives it (the whole app with Telegram on the stand-in, through telegraf)
 * reports it, and later says it is back. A paused market queue makes a job scheduler fall silent. HEARTBEAT_URL is a
 * local HTTP server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { Secret } from '../../src/config/secret.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger } from '../../src/log.js';
import { listSchedulers } from '../../src/queues/schedulers.js';
import { DeadMansSwitch } from '../../src/services/watchdogs/dead-mans-switch.js';
import { Heartbeats } from '../../src/services/watchdogs/heartbeats.js';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { ask } from '../support/telegram.js';
import { closeTestRedis, redisUrl, removeAppData, testPrefix, testRedis } from '../support/redis.js';
import { drained, eventually, jobsHarness, sleep, type JobsHarness } from '../jobs/support/harness.js';

const root = new URL('../../', import.meta.url).pathname;
const BEAT_MS = 1_000;
const ALERT_CHAT = -1001234500;
const VIEWER = 4242;

interface Child {
  child: ChildProcess;
  pid: Promise<number>;
  exited: Promise<number | null>;
  err: string;
}

function startBot(prefix: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/watchdogs/bot-child.ts'], {
    cwd: root,
    env: { ...process.env, PD_REDIS_URL: redisUrl(), PD_PREFIX: prefix, PD_BEAT_MS: String(BEAT_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const c: Child = {
    child,
    err: '',
    exited: new Promise((res) => child.once('exit', (code) => res(code))),
    pid: new Promise((res, rej) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (\d+)/.exec(out);
        if (m) res(Number(m[1]));
      });
      child.once('exit', (code) => rej(new Error(`bot child exited (${code}) before it was ready: ${c.err.slice(-2000)}`)));
    }),
  };
  child.stderr!.on('data', (d: Buffer) => (c.err += d.toString()));
  return c;
}

describe('dead man\'s switch', () => {
  let tg: TelegramStandIn;
  let replica: App;
  let paper: PaperExchange;
  const prefix = testPrefix();
  const children: Child[] = [];

  beforeAll(async () => {
    tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
    paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: `${prefix}-replica-venue`, volatilityScale: 0 });
    // The replica that survives: Telegram on the stand-in, no scheduled jobs (only processes are watched here).
    replica = await startApp({
      config: loadConfig({
        TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.apiRoot, TELEGRAM_ALERT_CHAT_ID: String(ALERT_CHAT),
        PERPDESK_VIEWERS: `telegram:${VIEWER}`, HTTP_PORT: '0',
      }),
      log: silentLogger, redisUrl: redisUrl(), exchange: paper, prefix, httpPort: 0,
      background: { schedule: false }, heartbeat: { everyMs: BEAT_MS },
    });
  }, 30_000);

  afterAll(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await replica?.close();
    await tg?.close();
    await removeAppData(prefix);
    const r = testRedis();
    for await (const keys of r.scanStream({ match: `${prefix}-*` })) if ((keys as string[]).length) await r.del(...(keys as string[]));
    await closeTestRedis();
  }, 30_000);

  const alertTexts = () => tg.messages(ALERT_CHAT).map((m) => m.text ?? '');

  it('when the bot\'s process is killed, the other replica reports it within 3 intervals, once, on Telegram; a new bot says it is back; /status shows the beats', async () => {
    const beats = new Heartbeats({ redis: replica.redis, prefix });
    const first = startBot(prefix);
    children.push(first);
    const pid = await first.pid;
    await eventually(async () => (await beats.processes()).some((p) => p.pid === pid), 15_000, 'the bot child beats');

    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exited;
    const stopped = new RegExp(`The bot stopped beating — bot pid ${pid} on `);
    const msg = await tg.waitForMessage(ALERT_CHAT, (m) => stopped.test(m.text ?? ''), 20_000);
    // "No heartbeat for X s": how long it had been silent when the replica noticed — more than 3 beats, and no more
    // than 3 beats plus the one interval between two looks (plus a little timer slack on a loaded machine).
    const silentFor = Number(/No heartbeat for ([\d.]+) s/.exec(msg.text ?? '')?.[1]);
    expect(silentFor).toBeGreaterThan(3 * BEAT_MS / 1000);
    expect(silentFor).toBeLessThanOrEqual(4 * BEAT_MS / 1000 + 1);
    expect(Date.now() - killedAt).toBeLessThan(20_000);
    await sleep(3 * BEAT_MS);
    expect(alertTexts().filter((t) => stopped.test(t))).toHaveLength(1);

    // /status over Telegram: the dead one is listed as silent, the replica as this one.
    const status = await ask(tg, VIEWER, '/status');
    expect(status).toMatch(new RegExp(`❌ silent bot pid ${pid} on .*: last beat`));
    expect(status).toMatch(new RegExp(`✅ bot pid ${process.pid} on .* \\(this one\\): last beat`));

    // A new bot process takes its place and says so, once.
    const second = startBot(prefix);
    children.push(second);
    const pid2 = await second.pid;
    const back = new RegExp(`Back — bot pid ${pid} on .*started in its place`, 's');
    await tg.waitForMessage(ALERT_CHAT, (m) => back.test(m.text ?? '') && (m.text ?? '').includes(`pid ${pid2}`), 20_000);
    const status2 = await ask(tg, VIEWER, '/status');
    expect(status2).toMatch(new RegExp(`✅ bot pid ${pid2} on .*: last beat`));
    expect(status2).not.toMatch(new RegExp(`pid ${pid} on`));

    // A clean stop is not a death: its record goes with it and nobody is alerted.
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect((await beats.processes()).some((p) => p.pid === pid2)).toBe(false);
    await sleep(5 * BEAT_MS);
    expect(alertTexts().filter((t) => /stopped beating/.test(t))).toHaveLength(1);
    expect(alertTexts().filter((t) => /Back — /.test(t))).toHaveLength(1);
  }, 90_000);
});

describe('dead man\'s switch: job schedulers and HEARTBEAT_URL', () => {
  let h: JobsHarness | undefined;
  let dms: DeadMansSwitch | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    await dms?.stop();
    await h?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    h = undefined;
    dms = undefined;
    server = undefined;
  });

  it('when a job scheduler stops running for 3 of its periods, should report it once and say once when it runs again', async () => {
    const EVERY = 400;
    h = await jobsHarness({ every: { 'risk-monitor': EVERY } });
    const beats = new Heartbeats(h.bg.ctx.store);
    await eventually(async () => (await beats.jobRuns())['risk-monitor'], 15_000, 'a first risk-monitor run');
    dms = new DeadMansSwitch({ store: h.bg.ctx.store, alerts: h.bg.services.alerts, log: silentLogger, role: 'worker', everyMs: 200, schedulers: () => listSchedulers(h!.bg.market) });
    await dms.start();

    await h.bg.market.pause();
    await eventually(() => h!.notifier.titles(/^Job risk-monitor stopped running/).length > 0, 15_000, 'the silent-job alert');
    await h.bg.market.resume();
    await eventually(() => h!.notifier.titles(/^Back — job risk-monitor/).length > 0, 15_000, 'the job-back message');
    await sleep(5 * EVERY);
    await drained(h);
    expect(h.notifier.titles(/^Job risk-monitor stopped running/)).toHaveLength(1);
    expect(h.notifier.titles(/^Back — job risk-monitor/)).toHaveLength(1);
    // The other schedulers (30 s and more) were never silent that long.
    expect(h.notifier.titles(/stopped running/)).toHaveLength(1);
  }, 60_000);

  it('should GET HEARTBEAT_URL on each beat, and log a failing monitor without its URL', async () => {
    const hits: string[] = [];
    let status = 200;
    server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      res.writeHead(status).end();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}/ping/sekret-token-123`;
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }));
    h = await jobsHarness();
    dms = new DeadMansSwitch({ store: h.bg.ctx.store, alerts: h.bg.services.alerts, log, role: 'worker', everyMs: 150, heartbeatUrl: new Secret(url) });
    await dms.start();
    await eventually(() => hits.length >= 3, 10_000, 'three pings');
    expect(new Set(hits)).toEqual(new Set(['GET /ping/sekret-token-123']));

    status = 503;
    await eventually(() => lines.some((l) => /HEARTBEAT_URL answered with an error status/.test(l)), 10_000, 'the error status logged');
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    await eventually(() => lines.some((l) => /HEARTBEAT_URL could not be reached/.test(l)), 10_000, 'the unreachable monitor logged');
    expect(lines.join('\n')).not.toMatch(/sekret-token-123|\/ping\//);
    expect(lines.join('\n')).not.toContain(String(port));
  });
});
