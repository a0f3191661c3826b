/**
 * /funding dispatch → reply through the real discord.js client and the local Discord stand-in, paper exchange in
 * process, over 2,000 calls (target p99 <= 25 ms), plus the bot's idle RSS (target <= 150 MB).
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

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

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
try {
  await new Promise((r) => setTimeout(r, 1000));
  global.gc?.();
  const idleRssMb = process.memoryUsage().rss / 2 ** 20;
  const lat: number[] = [];
  for (let i = 0; i < CALLS + 100; i++) {
    const t0 = performance.now();
    const ix = discord.dispatchSlashCommand({ name: 'funding', userId: '501', options: { symbol: 'BTC-PERP' } });
    await ix.firstResponse();
    if (i >= 100) lat.push(performance.now() - t0); // first 100 warm up JIT and caches
  }
  lat.sort((a, b) => a - b);
  console.log(JSON.stringify({ bench: 'funding_dispatch_to_reply_discord', calls: CALLS, p50_ms: +pct(lat, 50).toFixed(2), p99_ms: +pct(lat, 99).toFixed(2), max_ms: +lat[lat.length - 1]!.toFixed(2), target_p99_ms: 25 }));
  console.log(JSON.stringify({ bench: 'idle_rss_with_stand_in', rss_mb: +idleRssMb.toFixed(1), note: 'bot + discord.js + paper exchange + the Discord stand-in in one process' }));
  console.log(JSON.stringify({ bench: 'idle_rss_bot', rss_mb: await botIdleRssMb(), note: '`npm start` on the embedded defaults (console; node --max-semi-space-size=2 + tsx), 5 s after start, redis-server not counted', target_mb: 150 }));
  
  console.log(JSON.stringify({ bench: 'idle_rss_bot_discord', rss_mb: await botIdleRssMb(discordEnv(discord)), note: '`npm start` with Discord (against the stand-in in the bench process), 5 s after ready', target_mb: 150 }));
} finally {
  await app.close();
  await discord.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
