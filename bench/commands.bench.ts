/**
 * /funding through the real discord.js client and the local Discord stand-in, paper exchange in process: ms from the
 * stand-in sending INTERACTION_CREATE to it receiving the interaction callback (the reply), over 2,000 calls
 * (target p99 <= 18 ms, issue 14 item 4), and the same for a minimal discord.js bot that only replies (the floor);
 * plus the bot's idle RSS (target <= 150 MB).
 * `npx tsx bench/commands.bench.ts` prints JSON lines. Needs redis-server (started privately here).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDiscordStandIn } from '../test/fakes/discord/index.js';
import { discordEnv } from '../test/support/discord-env.js';
import { startRedisServer } from '../src/queues/redis-server.js';
import { PaperExchange } from '../src/exchange/paper/paper-exchange.js';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { silentLogger } from '../src/log.js';
import { profiled, startMinimalBot, summary, timedCommand } from './support/discord-crowd.js';

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

/** RSS of a real `npm start` process (console transport, paper exchange, private redis) once idle. */
async function botIdleRssMb(extraEnv: Record<string, string> = {}): Promise<number> {
  const data = mkdtempSync(join(tmpdir(), 'pd-bench-rss-'));
  // Exactly `npm start` (same node flags); the RSS measured is that of the node process under npm.
  const child = spawn('npm', ['start', '--silent'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, DATA_DIR: data, HTTP_PORT: '0', REDIS_URL: '', DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '', ...extraEnv },
    stdio: ['pipe', 'ignore', 'pipe'],
    detached: true, // its own process group, so Ctrl-C below reaches npm, sh and node alike
  });
  try {
    await new Promise<void>((res) => child.stderr.on('data', (d: Buffer) => /listening on|perpdesk ready/.test(String(d)) && res()));
    await new Promise((r) => setTimeout(r, 5000));
    const status = readFileSync(`/proc/${nodeDescendant(child.pid!)}/status`, 'utf8');
    return +(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024).toFixed(1);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    rmSync(data, { recursive: true, force: true });
  }
}

const dir = mkdtempSync(join(tmpdir(), 'pd-bench-'));
const redis = await startRedisServer({ dataDir: dir });
const discord = await startDiscordStandIn({ guildId: '1100000000000000001' });
const paper = await PaperExchange.open({ redis: redis.url, keyPrefix: 'bench', volatilityScale: 0 });
const config = loadConfig(discordEnv(discord));
const app = await startApp({ config, log: silentLogger, redisUrl: redis.url, exchange: paper, prefix: 'bench', httpPort: 0 });
let appOpen = true;
try {
  await new Promise((r) => setTimeout(r, 1000));
  global.gc?.();
  const idleRssMb = process.memoryUsage().rss / 2 ** 20;
  const funding = () => timedCommand(discord, 'funding', '501', { symbol: 'BTC-PERP' });
  for (let i = 0; i < WARMUP; i++) await funding();
  const lat: number[] = [];
  await profiled('funding', async () => {
    for (let i = 0; i < CALLS; i++) lat.push(await funding());
  });
  const s = summary(lat);
  console.log(JSON.stringify({ bench: 'funding_ack_discord', calls: CALLS, p50_ms: s.p50, p99_ms: s.p99, max_ms: s.max, target_p99_ms: 18 }));
  console.log(JSON.stringify({ bench: 'idle_rss_with_stand_in', rss_mb: +idleRssMb.toFixed(1), note: 'bot + discord.js + paper exchange + the Discord stand-in in one process' }));
  await app.close();
  appOpen = false;
  const minimal = await startMinimalBot(discord);
  try {
    for (let i = 0; i < WARMUP; i++) await funding();
    const floor: number[] = [];
    for (let i = 0; i < CALLS; i++) floor.push(await funding());
    const f = summary(floor);
    console.log(JSON.stringify({ bench: 'funding_ack_minimal_bot', calls: CALLS, p50_ms: f.p50, p99_ms: f.p99, max_ms: f.max, note: 'discord.js client that only replies: the floor' }));
  } finally {
    await minimal.close();
  }
  // BENCH_RSS=0 skips the two `npm start` runs (when only the latency is wanted).
  if (process.env.BENCH_RSS !== '0') {
    console.log(JSON.stringify({ bench: 'idle_rss_bot', rss_mb: await botIdleRssMb(), note: '`npm start` on the embedded defaults (console; node --max-semi-space-size=2 + tsx), 5 s after start, redis-server not counted', target_mb: 150 }));
    console.log(JSON.stringify({ bench: 'idle_rss_bot_discord', rss_mb: await botIdleRssMb(discordEnv(discord)), note: '`npm start` with Discord (against the stand-in in the bench process), 5 s after ready', target_mb: 150 }));
  }
} finally {
  if (appOpen) await app.close();
  await discord.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
