import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { ConfigError } from '../errors.js';

export interface RedisServerOptions {
  /** Where the append-only file lives; created when missing. */
  dataDir?: string;
  /** Port to bind; a free one is picked when omitted. */
  port?: number;
  /** Binary to run; `redis-server` from PATH by default. */
  binary?: string;
  /** How long to wait for PING to answer. */
  startTimeoutMs?: number;
}

export interface RedisServerHandle {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export const REDIS_MISSING_MESSAGE =
  'redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server; ' +
  'macOS: brew install redis), run `npm run setup`, or set REDIS_URL to an existing Redis.';

export function redisServerAvailable(binary = 'redis-server'): boolean {
  const r = spawnSync(binary, ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

async function waitForPing(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} during start-up`);
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      if ((await r.ping()) === 'PONG') {
        r.disconnect();
        return;
      }
    } catch (e) {
      lastErr = e;
    }
    r.disconnect();
    await new Promise((s) => setTimeout(s, 50));
  }
  throw new Error(`redis-server did not answer PING within ${timeoutMs} ms: ${String(lastErr)}`);
}

/**
 * Starts a private redis-server child on loopback with append-only persistence in `dataDir`.
 * The child is told to die with us: on normal exit we stop it, and on a crash of the parent the
 * watchdog below (stdin pipe closing) makes it shut down too.
 */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const binary = opts.binary ?? 'redis-server';
  if (!redisServerAvailable(binary)) throw new ConfigError(REDIS_MISSING_MESSAGE);
  const dataDir = resolve(opts.dataDir ?? '.data/redis');
  mkdirSync(dataDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dataDir,
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--save', '',
    '--protected-mode', 'yes',
    '--daemonize', 'no',
    '--loglevel', 'warning',
  ];
  // A small shell watchdog: when our stdin pipe closes (parent died, even by SIGKILL), stop redis.
  // (Background jobs of a non-interactive sh read /dev/null, hence the explicit fd 3.)
  const script = `"$0" "$@" & rp=$!; trap 'kill -TERM $rp 2>/dev/null; wait $rp; exit 0' TERM INT HUP; ` +
    `exec 3<&0; (cat <&3 >/dev/null; kill -TERM $rp 2>/dev/null) & wait $rp`;
  const child = spawn('sh', ['-c', script, binary, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitForPing(url, child, opts.startTimeoutMs ?? 10_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}${stderr ? `: ${stderr.trim().slice(0, 500)}` : ''}`);
  }
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= new Promise<void>((res) => {
      if (child.exitCode !== null || child.signalCode !== null) return res();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => { clearTimeout(t); res(); });
      child.kill('SIGTERM');
    });
    return stopped;
  };
  return { url, port, pid: child.pid ?? -1, stop };
}
