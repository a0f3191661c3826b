import { describe, it, expect } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { startRedisServer, redisServerAvailable } from '../src/queues/redis-server.js';
import { ConfigError } from '../src/errors.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('redis-server launcher', () => {
  it('starts, answers, stops, and keeps data across a restart (AOF)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-redis-'));
    try {
      const a = await startRedisServer({ dataDir: dir });
      const r1 = new Redis(a.url);
      expect(await r1.ping()).toBe('PONG');
      await r1.set('k', 'survives');
      await r1.call('BGREWRITEAOF').catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
      r1.disconnect();
      await a.stop();
      const dead = new Redis(a.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      dead.on('error', () => {});
      await expect(dead.connect()).rejects.toThrow();
      dead.disconnect();

      const b = await startRedisServer({ dataDir: dir });
      const r2 = new Redis(b.url);
      expect(await r2.get('k')).toBe('survives');
      expect(await r2.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      r2.disconnect();
      await b.stop();
      await b.stop(); // idempotent
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says how to install redis-server when the binary is missing', async () => {
    expect(redisServerAvailable('/nonexistent/redis-server')).toBe(false);
    const err = await startRedisServer({ binary: '/nonexistent/redis-server' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/apt-get install -y redis-server/);
    expect((err as Error).message).toMatch(/REDIS_URL/);
  });

  it('stops the redis-server child when the parent process is killed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-redis-'));
    const script = `import { startRedisServer } from ${JSON.stringify(new URL('../src/queues/redis-server.ts', import.meta.url).pathname)};
      const h = await startRedisServer({ dataDir: ${JSON.stringify(dir)} }); console.log(h.pid + ' ' + h.port); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((res, rej) => {
        child.stdout.once('data', (d: Buffer) => res(d.toString().trim()));
        child.once('exit', () => rej(new Error('child exited early')));
      });
      const [, port] = line.split(' ').map(Number);
      const r = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => {});
      await r.connect();
      expect(await r.ping()).toBe('PONG');
      r.disconnect();
      child.kill('SIGKILL');
      // The watchdog notices the closed pipe and stops redis.
      let up = true;
      for (let i = 0; i < 100 && up; i++) {
        await new Promise((s) => setTimeout(s, 100));
        const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => {});
        up = await probe.connect().then(() => true, () => false);
        probe.disconnect();
      }
      expect(up).toBe(false);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
