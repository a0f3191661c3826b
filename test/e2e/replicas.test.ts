/**
 * Two replicas, one voice: two real `npm start` processes on one Redis and one shared paper exchange, with
 * Telegram pointed at the stand-in. Exactly one polls Telegram and answers; when it is killed with SIGKILL the
 * other takes over within 15 s; no command is answered twice and no alert is sent twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelegramStandIn, type TelegramStandIn } from '../fakes/telegram/index.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { startPaperServer, type PaperServerHandle } from '../../src/exchange/paper-server.js';
import { createRedis, closeRedis } from '../../src/queues/redis.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';

const root = new URL('../../', import.meta.url).pathname;
const ADMIN = 4242;
const ALERT_CHAT = -1001234567;
const TTL_S = 3;

interface Replica {
  name: string;
  child: ChildProcess;
  err: string;
  exited: Promise<number | null>;
}

let tg: TelegramStandIn;
let paper: PaperExchange;
let paperServer: PaperServerHandle;
const paperPrefix = testPrefix();
const dataDirs: string[] = [];
const replicas: Replica[] = [];

function startReplica(name: string): Replica {
  const dataDir = mkdtempSync(join(tmpdir(), `pd-replica-${name}-`));
  dataDirs.push(dataDir);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      REDIS_URL: redisUrl(),
      PAPER_EXCHANGE_URL: paperServer.url,
      TELEGRAM_BOT_TOKEN: tg.token,
      TELEGRAM_API_ROOT: tg.apiRoot,
      TELEGRAM_ALERT_CHAT_ID: String(ALERT_CHAT),
      PERPDESK_ADMINS: `telegram:${ADMIN}`,
      DISCORD_TOKEN: '',
      LEADER_TTL_SECONDS: String(TTL_S),
      HTTP_PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const r: Replica = { name, child, err: '', exited: new Promise((res) => child.once('exit', (c) => res(c))) };
  child.stderr!.on('data', (d: Buffer) => (r.err += d.toString()));
  replicas.push(r);
  return r;
}

async function until<T>(what: string, check: () => T | undefined | false, ms = 20_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() - t0 > ms) {
      const alerts = tg.messages(ALERT_CHAT).map((m) => (m.text ?? '').split('\n')[0]);
      throw new Error(`timed out waiting for ${what}\nalert chat: ${JSON.stringify(alerts)}\n${replicas.map((r) => `--- ${r.name}\n${r.err.slice(-3000)}`).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const leads = (r: Replica) => /"msg":"leader lease acquired"/.test(r.err);
const replies = (text: RegExp) => tg.messages(ADMIN).filter((m) => text.test(m.text ?? ''));

beforeAll(async () => {
  tg = await startTelegramStandIn({ botUsername: 'PerpDeskBot' });
  const r = createRedis(redisUrl());
  await deletePrefix(r, 'pd:');
  await deletePrefix(r, '{perpdesk}');
  await closeRedis(r);
  paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: paperPrefix, volatilityScale: 0, seed: 3 });
  paperServer = await startPaperServer({ exchange: paper, port: 0 });
}, 30_000);

afterAll(async () => {
  for (const r of replicas) r.child.kill('SIGKILL');
  await Promise.all(replicas.map((r) => r.exited));
  await paperServer?.close();
  await paper?.close();
  await tg?.close();
  const r = createRedis(redisUrl());
  for (const p of ['pd:', '{perpdesk}', paperPrefix]) await deletePrefix(r, p);
  await closeRedis(r);
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
}, 30_000);

describe('two npm start replicas on one Redis', () => {
  it('one leader answers; after a SIGKILL the other takes over within 15 s; nothing is answered or sent twice', async () => {
    const a = startReplica('a');
    await until('replica a ready', () => /listening on/.test(a.err) && leads(a));
    const b = startReplica('b');
    await until('replica b ready', () => /listening on/.test(b.err));
    await new Promise((r) => setTimeout(r, 1500)); // b tries the lease several times meanwhile
    expect(leads(b)).toBe(false);

    // A command and an alert while a leads: each exactly once.
    tg.sendText({ chatId: ADMIN, text: '/funding BTC-PERP' });
    await until('funding reply', () => replies(/Funding BTC-PERP/).length > 0);
    tg.sendText({ chatId: ADMIN, text: '/pause replica drill' });
    await until('pause announcement', () => tg.messages(ALERT_CHAT).some((m) => /paused/i.test(m.text ?? '')));

    // The leader dies without a word, once it has recorded what it sent: a kill between a send and its record is the
    // one window where a message can go out twice (Telegram has no idempotency key); the update itself is never
    // handled twice (ids remembered in Redis), which the funding replies below check.
    await new Promise((r) => setTimeout(r, 1_000));
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await a.exited;
    await until('b takes the lease', () => leads(b), 15_000);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(15_000);

    tg.sendText({ chatId: ADMIN, text: '/resume' });
    await until('resume announcement', () => tg.messages(ALERT_CHAT).some((m) => /resumed/i.test(m.text ?? '')), 15_000);
    tg.sendText({ chatId: ADMIN, text: '/funding ETH-PERP' });
    await until('second funding reply', () => replies(/Funding ETH-PERP/).length > 0, 15_000);
    await new Promise((r) => setTimeout(r, 1500)); // room for any duplicate to show up

    expect(replies(/Funding BTC-PERP/)).toHaveLength(1);
    expect(replies(/Funding ETH-PERP/)).toHaveLength(1);
    expect(tg.messages(ALERT_CHAT).filter((m) => /paused/i.test(m.text ?? '') && !/resumed/i.test(m.text ?? ''))).toHaveLength(1);
    expect(tg.messages(ALERT_CHAT).filter((m) => /resumed/i.test(m.text ?? ''))).toHaveLength(1);
    // Never two pollers: Telegram would have answered one of them 409.
    const conflicts = tg.calls('getUpdates').filter((c) => (c as { status?: number }).status === 409);
    expect(conflicts).toHaveLength(0);
    expect(b.err).not.toMatch(/409|Conflict: terminated by other getUpdates/);
  }, 90_000);
});
