/**
 * A Redis outage seen from the console, as a team would see it: `/status` says Redis is down (promptly, not
 * "Internal error"), and no raw connection stack trace lands on the terminal.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../../src/queues/redis-server.js';

const root = new URL('../../', import.meta.url).pathname;

async function until(what: string, check: () => boolean, get: () => string, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}; got:\n${get()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Redis outage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pd-outage-'));
  let server: RedisServerHandle | undefined;
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('/status answers "Redis: down" and the terminal shows no raw stack trace', async () => {
    server = await startRedisServer({ dataDir: join(dir, 'redis') });
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { ...process.env, REDIS_URL: server.url, DATA_DIR: dir, HTTP_PORT: '0', DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '', CASCADE_INTERVAL_SECONDS: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await until('ready', () => /listening on/.test(err), () => err);
      await server.stop();
      server = undefined;
      await new Promise((r) => setTimeout(r, 2500)); // jobs, queues and workers all notice

      const before = out.length;
      child.stdin.write('/status\n');
      await until('the /status answer', () => /Redis/.test(out.slice(before)), () => out.slice(before), 15_000);
      const answer = out.slice(before);
      expect(answer).toMatch(/Redis[^\n]*down/);
      expect(answer).not.toMatch(/Internal error/);

      const terminal = `${out}\n${err}`;
      expect(terminal).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m); // a stack frame
      expect(terminal).not.toMatch(/Unhandled error event/);
    } finally {
      child.kill('SIGINT');
      await exited;
    }
  }, 60_000);
});
