import { PassThrough } from 'node:stream';
import type { Redis } from 'ioredis';
import { commands } from '../../commands/registry.js';
import type { CommandContext, Invocation } from '../../commands/context.js';
import { loadConfig, type Config } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { buildServices } from '../../src/services/build.js';
import { deskFor, type Desk } from '../../src/transports/desk.js';
import { closeRedis, createRedis } from '../../src/queues/redis.js';
import { deletePrefix, redisUrl, testPrefix } from './redis.js';

export interface TestDesk {
  prefix: string;
  redis: Redis;
  paper: PaperExchange;
  ctx: CommandContext;
  desk: Desk;
  config: Config;
  close(): Promise<void>;
}

/** The team's chats in command tests: `actor()` speaks from these, and TEAM_ENV lets their members read. */
export const TEAM_CHANNEL = '700000000000000001';
export const TEAM_GROUP = '-1007000000001';

/** The desk is closed by default: this is the setting that opens it to the chats `actor()` uses. */
export const TEAM_ENV: Record<string, string> = { PERPDESK_CHATS: `discord-channel:${TEAM_CHANNEL},telegram:${TEAM_GROUP}` };

/**
 * A full command stack on real Redis and the in-process paper exchange (frozen market unless `volatilityScale`
 * is given), under a fresh key prefix. For transport and command tests. `env` is added to TEAM_ENV.
 */
export async function buildTestDesk(opts: { env?: Record<string, string>; now?: () => number; log?: Logger; volatilityScale?: number } = {}): Promise<TestDesk> {
  const prefix = testPrefix();
  const config = loadConfig({ ...TEAM_ENV, ...opts.env });
  const redis = createRedis(redisUrl());
  const now = opts.now ?? Date.now;
  const paper = await PaperExchange.open({ redis, keyPrefix: prefix, clock: now, volatilityScale: opts.volatilityScale ?? 0, seed: 42 });
  const services = buildServices({
    redis,
    prefix,
    exchange: paper,
    now,
    status: async () => ({ exchange: 'paper', exchangeOk: true, redisOk: (await redis.ping()) === 'PONG', queues: [], schedulers: [], transports: ['test'], startedAt: 0 }),
  });
  const ctx: CommandContext = { ...services, exchange: paper, config, log: opts.log ?? silentLogger, now, commands };
  const desk: Desk = deskFor(ctx);
  return {
    prefix,
    redis,
    paper,
    ctx,
    desk,
    config,
    async close() {
      await paper.close();
      await deletePrefix(redis, prefix);
      await closeRedis(redis);
    },
  };
}

/** Someone writing from the team's chat on their platform (TEAM_ENV), or from the console. */
export function actor(platform: 'discord' | 'telegram' | 'console', userId: string, roleIds: string[] = []): Invocation {
  const chatId = platform === 'discord' ? TEAM_CHANNEL : platform === 'telegram' ? TEAM_GROUP : 'console';
  return { platform, actor: { platform, userId, displayName: `user-${userId}`, roleIds }, chatId, ...(platform === 'telegram' ? { chatType: 'group' as const } : {}) };
}

/** Console-transport plumbing: write lines in, read everything printed. */
export function pipes() {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (d: Buffer) => (text += d.toString()));
  return { input, output, text: () => text };
}
