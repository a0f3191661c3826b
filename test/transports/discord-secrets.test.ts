import { describe, it, expect, afterAll } from 'vitest';
import { Writable } from 'node:stream';
import { startDiscordStandIn } from '../fakes/discord/index.js';
import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createLogger } from '../../src/log.js';
import { PaperExchange } from '../../src/exchange/paper/paper-exchange.js';
import { createRedis, closeRedis } from '../../src/queues/redis.js';
import { deletePrefix, redisUrl, testPrefix } from '../support/redis.js';
import { TEAM_ENV } from '../support/desk.js';
import { discordEnv } from '../support/discord-env.js';
import { eventually } from '../jobs/support/harness.js';


const prefix = testPrefix();
afterAll(async () => {
  const r = createRedis(redisUrl());
  await deletePrefix(r, prefix);
  await closeRedis(r);
});

describe('Discord token handling', () => {
  it('logs a failed interaction reply with name, code, status and message only: never the interaction token or the body', async () => {
    // Every interaction callback arrives "too late": Discord answers 404 Unknown interaction, as after a slow reply.
    const discord = await startDiscordStandIn({ guildId: '1100000000000000001', ackDeadlineMs: 0 });
    const lines: string[] = [];
    const log = createLogger('trace', new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) as never);
    const paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: prefix, volatilityScale: 0 });
    const app = await startApp({ config: loadConfig({ ...TEAM_ENV, ...discordEnv(discord) }), log, redisUrl: redisUrl(), exchange: paper, prefix, httpPort: 0, background: false });
    try {
      const ix = discord.dispatchSlashCommand({ name: 'funding', userId: '501', options: { symbol: 'btc' } });
      await ix.waitFor(() => (ix.responses.some((r) => r.status === 404) ? true : undefined), 'a refused callback');
      const failed = await eventually(() => lines.find((l) => l.includes('discord interaction failed')));
      const token = String(ix.payload.token);
      expect(lines.join('')).not.toContain(token);
      const entry = JSON.parse(failed) as { error: Record<string, unknown> };
      expect(Object.keys(entry.error).sort()).toEqual(['code', 'message', 'name', 'status']);
      expect(entry.error).toMatchObject({ code: 10062, status: 404, message: 'Unknown interaction' });
      expect(failed).not.toContain('/callback');
      expect(failed).not.toContain('Funding BTC-PERP');
    } finally {
      await app.close();
      await discord.close();
    }
  });

  it('fails start-up on a rejected token without the token in the error or any log line', async () => {
    const discord = await startDiscordStandIn({ guildId: '1100000000000000001' });
    const badToken = 'MTIzNDU2Nzg5.wrong-token-value.xyz';
    const lines: string[] = [];
    const log = createLogger('trace', new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) as never);
    const paper = await PaperExchange.open({ redis: redisUrl(), keyPrefix: prefix, volatilityScale: 0 });
    try {
      const config = loadConfig({ DISCORD_TOKEN: badToken, DISCORD_APPLICATION_ID: discord.applicationId, DISCORD_API_URL: discord.url });
      const err = await startApp({ config, log, redisUrl: redisUrl(), exchange: paper, prefix, httpPort: 0, background: false }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err).not.toBeNull();
      expect(`${err!.message} ${err!.stack ?? ''}`).not.toContain(badToken);
      expect(lines.join('')).not.toContain(badToken);
    } finally {
      await paper.close().catch(() => {});
      await discord.close();
    }
  });
});
