import { PassThrough } from 'node:stream';
import type { Redis } from 'ioredis';
import { commands, buttons } from '../../commands/registry.js';
import { dispatch, dispatchButton } from '../../commands/dispatch.js';
import type { CommandContext, Invocation } from '../../commands/context.js';
import { loadConfig, type Config } from '../../src/config/env.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { buildServices } from '../../src/services/build.js';
import type { Desk } from '../../src/transports/desk.js';
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

/**
 * A full command stack on real Redis and the in-process paper exchange (frozen market unless `volatilityScale`
 * is given), under a fresh key prefix. For transport and command tests.
 */
export async function buildTestDesk(opts: { env?: Record<string, string>; now?: () => number; log?: Logger; volatilityScale?: number } = {}): Promise<TestDesk> {
  const prefix = testPrefix();
  const config = loadConfig(opts.env ?? {});
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
  const desk: Desk = {
    commands,
    command: (name, args, inv) => dispatch(ctx, commands, name, args, inv),
    button: (id, inv) => dispatchButton(ctx, buttons, id, inv),
    suggestSymbols: (p) => services.market.suggest(p),
    messageSent: (track, ref) => services.messageRefs.add(track, ref),
  };
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

export function actor(platform: 'discord' | 'telegram' | 'console', userId: string, roleIds: string[] = []): Invocation {
  return { platform, actor: { platform, userId, displayName: `user-${userId}`, roleIds }, chatId: 'chat-1' };
}

/** Console-transport plumbing: write lines in, read everything printed. */
export function pipes() {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (d: Buffer) => (text += d.toString()));
  return { input, output, text: () => text };
}
