/**
 * The bots the Discord benches measure, each in its own process as in production (Discord never shares the bot's
 * event loop; here the stand-in lives in the bench process):
 * - PerpDesk exactly as `npm start` runs it: the compiled build with the node flags of package.json's `start`
 *   script, paper exchange inside, Discord pointed at the stand-in and REDIS_URL at the bench's redis-server;
 * - the floor: a minimal discord.js bot (minimal-bot.ts) that answers every button and command at once.
 * With BENCH_PROFILE=<dir> each bot writes a V8 CPU profile there when it stops.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DiscordStandIn } from '../../test/fakes/discord/index.js';
import { discordEnv } from '../../test/support/discord-env.js';

const root = new URL('../..', import.meta.url).pathname;

export interface BotProcess {
  pid: number;
  /** CPU time (user + system) the process has used so far, in ms (10 ms resolution). */
  cpuMs(): number;
  close(): Promise<void>;
}

function profileArgs(): string[] {
  const dir = process.env.BENCH_PROFILE;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

function cpuMsOf(pid: number): number {
  // /proc/<pid>/stat: fields 14 and 15 are utime and stime in clock ticks (100 per second); the name (2) may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function running(child: ChildProcess, ready: RegExp, what: string, cleanup: () => void): Promise<BotProcess> {
  let out = '';
  try {
    await new Promise<void>((res, rej) => {
      const onData = (d: Buffer) => {
        out += String(d);
        if (ready.test(out)) res();
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => rej(new Error(`${what} exited (${code}) before it was ready: ${out.slice(-2000)}`)));
    });
  } catch (e) {
    cleanup();
    throw e;
  }
  const pid = child.pid!;
  return {
    pid,
    cpuMs: () => cpuMsOf(pid),
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await exited;
      }
      cleanup();
    },
  };
}

/** Waits until the bot's Discord session is up on the stand-in (gateway identified, slash commands registered). */
async function connected(discord: DiscordStandIn, before: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (discord.identifies().length > before && discord.registeredCommands(discord.guildId).length > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the bot did not connect to the Discord stand-in within 30 s');
}

/** `npm start` with Discord on the stand-in; `env` adds to (or overrides) the bench defaults. */
export async function startPerpDesk(discord: DiscordStandIn, redisUrl: string, env: Record<string, string> = {}): Promise<BotProcess> {
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [node, ...args] = pkg.scripts.start.split(/\s+/);
  if (node !== 'node') throw new Error(`unexpected start script: ${pkg.scripts.start}`);
  const data = mkdtempSync(join(tmpdir(), 'pd-bench-bot-'));
  const before = discord.identifies().length;
  const child = spawn(process.execPath, [...profileArgs(), ...args], {
    cwd: root,
    env: {
      ...process.env,
      DATA_DIR: data,
      HTTP_PORT: '0',
      REDIS_URL: redisUrl,
      EXCHANGE: 'paper',
      TELEGRAM_BOT_TOKEN: '',
      ...discordEnv(discord),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const bot = await running(child, /listening on/, 'npm start', () => rmSync(data, { recursive: true, force: true }));
  await connected(discord, before);
  return bot;
}

/** The floor: minimal-bot.ts in its own process. */
export async function startMinimalBot(discord: DiscordStandIn): Promise<BotProcess> {
  const before = discord.identifies().length;
  const child = spawn(process.execPath, [...profileArgs(), '--import', 'tsx', join(root, 'bench/support/minimal-bot.ts')], {
    cwd: root,
    env: { ...process.env, ...discordEnv(discord) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const bot = await running(child, /minimal bot ready/, 'the minimal bot', () => {});
  for (let i = 0; i < 600 && discord.identifies().length === before; i++) await new Promise((r) => setTimeout(r, 50));
  return bot;
}
