/**
 * 50 teammates click Approve on the same order preview at once, through the real discord.js client and the Discord
 * stand-in (issue 14 item 4): one click wins and the order is placed once, the other 49 are told it is already
 * decided. Measures each click's acknowledgement, from the stand-in sending INTERACTION_CREATE to it receiving the
 * interaction callback, over BENCH_ROUNDS rounds (default 20, so 1,000 clicks); target p99 <= 90 ms. Then the same
 * crowd is answered by a minimal discord.js bot that only replies: the floor on this machine.
 * The preview is mirrored in two more channels (MessageRefs keeps several copies), so the winning click has other
 * messages to edit. `npx tsx bench/approve-crowd.bench.ts` prints JSON lines; BENCH_PROFILE=<dir> also writes a CPU
 * profile of each crowd. Needs redis-server (started privately here).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDiscordStandIn, type DiscordStandIn } from '../test/fakes/discord/index.js';
import { discordEnv } from '../test/support/discord-env.js';
import { startRedisServer } from '../src/queues/redis-server.js';
import { PaperExchange } from '../src/exchange/paper/paper-exchange.js';
import { startApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { silentLogger } from '../src/log.js';
import { parseButtonId } from '../src/chat/button-id.js';
import { renderApproval } from '../src/services/approvals/render.js';
import { crowdClick, profiled, startMinimalBot, summary, type Clicker } from './support/discord-crowd.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const CROWD = Number(process.env.BENCH_CROWD ?? 50);
const WARMUP_ROUNDS = 3;
const GUILD = '1100000000000000001';
const CHANNELS = ['1300000000000000001', '1300000000000000002', '1300000000000000003'];
const APPROVER_ROLE = '1200000000000000002';
const TRADER = '1001';
const clickers: Clicker[] = Array.from({ length: CROWD }, (_, i) => ({ userId: String(5000 + i), roleIds: [APPROVER_ROLE] }));

type Component = { components?: { custom_id: string; label: string }[] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One round: a fresh preview (mirrored in the other channels), then the whole crowd clicks Approve at once. */
async function round(discord: DiscordStandIn, app: App): Promise<{ acks: number[]; cpuMs: number }> {
  const ix = discord.dispatchSlashCommand({ name: 'order', userId: TRADER, channelId: CHANNELS[0], options: { symbol: 'BTC-PERP', side: 'long', size_usd: 1000, leverage: 2 } });
  const preview = await ix.final({ timeoutMs: 10_000 });
  const approve = (preview.components as Component[]).flatMap((r) => r.components ?? []).find((b) => b.label === 'Approve');
  if (!approve) throw new Error(`no preview: ${JSON.stringify(preview.embeds)}`);
  const id = parseButtonId(approve.custom_id)!.ref;
  const rec = (await app.ctx.approvals.get(id))!;
  for (const ch of CHANNELS.slice(1)) await app.desk.messageSent(id, await app.discord!.send(ch, renderApproval(rec)));
  const ordersBefore = (await app.ctx.exchange.listOrders()).length;

  const cpu0 = process.cpuUsage();
  const clicks = await profiled('crowd', () => crowdClick(discord, approve.custom_id, preview.id, clickers));
  const cpu = process.cpuUsage(cpu0);

  // The answers must be the real ones: exactly one winner, everyone else told; one order on the exchange.
  let final = await app.ctx.approvals.get(id);
  for (let i = 0; i < 500 && final?.status !== 'filled'; i++, final = await app.ctx.approvals.get(id)) await sleep(10);
  if (final?.status !== 'filled') throw new Error(`the approved order did not fill: ${final?.status}`);
  const notices = await Promise.all(clicks.map(({ ix: c }) => c.waitFor(() => c.followUps()[0]?.content ?? null, 'the notice', 10_000)));
  const won = notices.filter((n) => n.startsWith('Approved: placing the order.')).length;
  const told = notices.filter((n) => n.startsWith('This preview is no longer valid')).length;
  if (won !== 1 || told !== CROWD - 1) throw new Error(`expected 1 winner and ${CROWD - 1} told, got ${won} and ${told}: ${notices.slice(0, 3).join(' | ')}`);
  const ordersAfter = (await app.ctx.exchange.listOrders()).length;
  if (ordersAfter !== ordersBefore + 1) throw new Error(`expected one order, the exchange got ${ordersAfter - ordersBefore}`);
  await sleep(100); // the mirrors' edits land before the next round
  return { acks: clicks.map((c) => c.ackMs), cpuMs: (cpu.user + cpu.system) / 1000 };
}

const dir = mkdtempSync(join(tmpdir(), 'pd-bench-crowd-'));
const redis = await startRedisServer({ dataDir: dir });
const discord = await startDiscordStandIn({
  guilds: [{ id: GUILD, channels: CHANNELS.map((id, i) => ({ id, name: `desk-${i}` })) }],
  channelMessageRateLimit: { limit: 1000, windowMs: 1000 },
});
try {
  const paper = await PaperExchange.open({ redis: redis.url, keyPrefix: 'bench', volatilityScale: 0, initialBalance: 100_000_000 });
  const config = loadConfig({ ...discordEnv(discord), PERPDESK_TRADERS: `discord:${TRADER}`, PERPDESK_APPROVERS: `discord-role:${APPROVER_ROLE}`, APPROVAL_TTL_SECONDS: '600' });
  const app = await startApp({ config, log: silentLogger, redisUrl: redis.url, exchange: paper, prefix: 'bench', httpPort: 0 });
  const bot: number[] = [];
  const cpu: number[] = [];
  try {
    for (let r = 0; r < ROUNDS + WARMUP_ROUNDS; r++) {
      const x = await round(discord, app);
      if (r >= WARMUP_ROUNDS) {
        bot.push(...x.acks);
        cpu.push(x.cpuMs);
      }
    }
  } finally {
    await app.close();
  }
  // CPU time of this process (bot and stand-in) until the crowd's last callback: less sensitive to other load.
  console.log(JSON.stringify({ bench: 'approve_crowd_click_ack_discord', crowd: CROWD, rounds: ROUNDS, ackMs: summary(bot), cpuMsPerCrowd: summary(cpu), target_p99_ms: 90 }));

  const minimal = await startMinimalBot(discord);
  const floor: number[] = [];
  const floorCpu: number[] = [];
  try {
    for (let r = 0; r < ROUNDS + WARMUP_ROUNDS; r++) {
      const host = await discord.dispatchSlashCommand({ name: 'order', userId: TRADER, channelId: CHANNELS[0] }).final();
      const cpu0 = process.cpuUsage();
      const clicks = await crowdClick(discord, 'pd1:ap:a0:0', host.id, clickers);
      const c = process.cpuUsage(cpu0);
      if (r >= WARMUP_ROUNDS) {
        floor.push(...clicks.map((k) => k.ackMs));
        floorCpu.push((c.user + c.system) / 1000);
      }
      await sleep(100);
    }
  } finally {
    await minimal.close();
  }
  console.log(JSON.stringify({ bench: 'approve_crowd_click_ack_minimal_bot', crowd: CROWD, rounds: ROUNDS, ackMs: summary(floor), cpuMsPerCrowd: summary(floorCpu), note: 'discord.js client that only replies: the floor' }));
} finally {
  await discord.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
