/**
 * /funding through the real discord.js client and the local Discord stand-in: ms from the stand-in sending
 * INTERACTION_CREATE to it receiving the interaction callback (the reply), over 2,000 calls after 100 warm-up
 * (target p99 <= 18 ms, issue 14 item 4). The bot runs as `npm start` in its own process (paper exchange inside);
 * then a minimal discord.js bot that only replies answers the same calls: the floor on this machine. Plus the bot's
 * idle RSS (target <= 150 MB), on the console defaults and with Discord connected.
 * `npx tsx bench/commands.bench.ts` prints JSON lines. Needs redis-server (started privately here).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDiscordStandIn } from '../test/fakes/discord/index.js';
import { startRedisServer } from '../src/queues/redis-server.js';
import { summary, timedCommand } from './support/discord-crowd.js';
import { startMinimalBot, startPerpDesk, type BotProcess } from './support/bot-process.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const WARMUP = 100; // JIT and caches

/** The node process started under npm (npm → sh → node). */
function nodeDescendant(pid: number): number {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,comm=']).toString().trim().split('\n').map((l) => l.trim().split(/\s+/));
  const children = (p: number) => out.filter((r) => Number(r[1]) === p);
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const r of children(p)) {
      if (r[2] === 'node') return Number(r[0]);
      queue.push(Number(r[0]));
    }
  }
  throw new Error('node process of npm start not found');
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return +(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024).toFixed(1);
}

/** RSS of a real `npm start` process (console transport, paper exchange, private redis) once idle. */
async function consoleBotIdleRssMb(): Promise<number> {
  const data = mkdtempSync(join(tmpdir(), 'pd-bench-rss-'));
  // Exactly `npm start` (same node flags); the RSS measured is that of the node process under npm.
  const child = spawn('npm', ['start', '--silent'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, DATA_DIR: data, HTTP_PORT: '0', REDIS_URL: '', DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '' },
    stdio: ['pipe', 'ignore', 'pipe'],
    detached: true, // its own process group, so Ctrl-C below reaches npm, sh and node alike
  });
  try {
    await new Promise<void>((res) => child.stderr.on('data', (d: Buffer) => /listening on|perpdesk ready/.test(String(d)) && res()));
    await new Promise((r) => setTimeout(r, 5000));
    return rssMb(nodeDescendant(child.pid!));
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    rmSync(data, { recursive: true, force: true });
  }
}

/** CALLS sequential /funding calls after the warm-up; also the bot's CPU time per call. */
async function fundingLatency(bot: BotProcess, funding: () => Promise<number>): Promise<{ lat: number[]; cpuMsPerCall: number }> {
  for (let i = 0; i < WARMUP; i++) await funding();
  const lat: number[] = [];
  const cpu0 = bot.cpuMs();
  for (let i = 0; i < CALLS; i++) lat.push(await funding());
  return { lat, cpuMsPerCall: +((bot.cpuMs() - cpu0) / CALLS).toFixed(3) };
}

const dir = mkdtempSync(join(tmpdir(), 'pd-bench-'));
const redis = await startRedisServer({ dataDir: dir });
const discord = await startDiscordStandIn({ guildId: '1100000000000000001' });
try {
  const funding = () => timedCommand(discord, 'funding', '501', { symbol: 'BTC-PERP' });
  const bot = await startPerpDesk(discord, redis.url);
  let ours;
  let idleRss;
  try {
    await new Promise((r) => setTimeout(r, 5000));
    idleRss = rssMb(bot.pid);
    ours = await fundingLatency(bot, funding);
  } finally {
    await bot.close();
  }
  const s = summary(ours.lat);
  console.log(JSON.stringify({ bench: 'funding_ack_discord', calls: CALLS, p50_ms: s.p50, p99_ms: s.p99, max_ms: s.max, bot_cpu_ms_per_call: ours.cpuMsPerCall, target_p99_ms: 18 }));

  const minimal = await startMinimalBot(discord);
  let floor;
  try {
    floor = await fundingLatency(minimal, funding);
  } finally {
    await minimal.close();
  }
  const f = summary(floor.lat);
  console.log(JSON.stringify({ bench: 'funding_ack_minimal_bot', calls: CALLS, p50_ms: f.p50, p99_ms: f.p99, max_ms: f.max, bot_cpu_ms_per_call: floor.cpuMsPerCall, note: 'discord.js client that only replies: the floor' }));

  // BENCH_RSS=0 skips the console `npm start` run (when only the latency is wanted).
  console.log(JSON.stringify({ bench: 'idle_rss_bot_discord', rss_mb: idleRss, note: '`npm start` with Discord (against the stand-in in the bench process), 5 s after connecting', target_mb: 150 }));
  if (process.env.BENCH_RSS !== '0') {
    console.log(JSON.stringify({ bench: 'idle_rss_bot', rss_mb: await consoleBotIdleRssMb(), note: '`npm start` on the embedded defaults (console), 5 s after start, redis-server not counted', target_mb: 150 }));
  }
} finally {
  await discord.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
