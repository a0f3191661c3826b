import { beforeAll, describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import ts from 'typescript';

const root = new URL('../../', import.meta.url).pathname;

function waitFor(get: () => string, re: RegExp, ms = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = () => {
      const m = re.exec(get());
      if (m) return resolve(m);
      if (Date.now() - t0 > ms) return reject(new Error(`timed out waiting for ${re}; got:\n${get()}`));
      setTimeout(poll, 50);
    };
    poll();
  });
}

// `npm start` builds dist/ when sources changed (scripts/build.mjs), then runs the compiled bot: test exactly that.
const START = ['--enable-source-maps', '--max-semi-space-size=2', 'dist/src/main.js'];

/** True once nothing accepts connections on the port (the private redis-server is gone). */
async function portClosed(port: number): Promise<boolean> {
  const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  const open = await probe.connect().then(() => true, () => false);
  probe.disconnect();
  return !open;
}

/**
 * `npm start` at a real terminal: `script` (util-linux) runs it under a pseudo-terminal, so stdin is a TTY, readline
 * owns the keyboard (raw mode) and Ctrl-C arrives as the byte 0x03, exactly as when someone presses it.
 */
async function startAtTerminal(): Promise<{ screen: () => string; type: (s: string) => void; exited: Promise<number | null>; redisPort: () => Promise<number>; cleanup: () => void }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pd-tty-'));
  const env = { ...process.env, DATA_DIR: dataDir, HTTP_PORT: '0', REDIS_URL: '', DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '', TERM: 'dumb' };
  const cmd = [process.execPath, ...START].map((a) => JSON.stringify(a)).join(' ');
  const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
  child.stderr.on('data', (d: Buffer) => (screen += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const log = () => (existsSync(join(dataDir, 'perpdesk.log')) ? readFileSync(join(dataDir, 'perpdesk.log'), 'utf8') : '');
  return {
    screen: () => screen,
    type: (s) => child.stdin.write(s),
    exited,
    // The log file is written asynchronously: wait for the line.
    redisPort: async () => Number((await waitFor(log, /"port":(\d+),"dataDir"/))[1]),
    cleanup: () => {
      // The bot runs in the pseudo-terminal's own session: stop it by its pid (every log line carries it).
      const pid = Number(/"pid":(\d+)/.exec(log())?.[1]);
      if (pid) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe('npm start on the embedded defaults', () => {
  beforeAll(() => {
    const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }, 180_000);

  it('boots, answers /healthz and /funding, survives stdin closing, and Ctrl-C leaves no redis-server behind', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pd-start-'));
    const env = { ...process.env, DATA_DIR: dataDir, HTTP_PORT: '0', REDIS_URL: '', DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '' };
    const child = spawn(process.execPath, START, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      const [, url] = await waitFor(() => err, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain('perpdesk_process_cpu_seconds_total');

      child.stdin.write('/funding BTC-PERP\n');
      await waitFor(() => out, /Funding BTC-PERP[\s\S]*Next funding[\s\S]*Your next payment/);

      // A closed pipe (no terminal) ends console input only: the bot keeps serving.
      child.stdin.end();
      await waitFor(() => err, /console input closed; still running/);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);

      // Without a terminal the logs go to stderr (a container's log collector reads them there), not to a file.
      expect(existsSync(join(dataDir, 'perpdesk.log'))).toBe(false);
      const port = Number(/"port":(\d+),"dataDir"/.exec(err)![1]);
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect(code).toBe(0);
      const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      expect(await probe.connect().then(() => true, () => false)).toBe(false);
      probe.disconnect();
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('stops with exit code 2 and one line naming a bad variable', async () => {
    const child = spawn(process.execPath, START, { cwd: root, env: { ...process.env, MAX_LEVERAGE: 'lots' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/MAX_LEVERAGE: invalid value/);
    expect(err).not.toMatch(/\s+at /);
  });

  it('runs compiled without devDependencies: dist/ imports only dependencies and Node built-ins', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const files = readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
    expect(files).toContain(join('src', 'main.js'));
    const bad: string[] = [];
    for (const f of files) {
      const code = readFileSync(join(root, 'dist', f), 'utf8');
      for (const { fileName: spec } of ts.preProcessFile(code, true, true).importedFiles) {
        if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!(name in pkg.dependencies)) bad.push(`${f}: ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  for (const [key, byte] of [['Ctrl-C', '\x03'], ['Ctrl-D', '\x04']] as const) {
    it(`prints where it listens before the prompt, and one ${key} stops it and its redis-server`, async () => {
      const t = await startAtTerminal();
      try {
        await waitFor(t.screen, /perpdesk> /, 30_000);
        const screen = t.screen();
        expect(screen).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
        expect(screen.indexOf('listening on')).toBeLessThan(screen.indexOf('perpdesk> '));
        const port = await t.redisPort();
        expect(await portClosed(port)).toBe(false);

        t.type('/funding BTC-PERP\r');
        await waitFor(t.screen, /Funding BTC-PERP[\s\S]*Next funding[\s\S]*perpdesk> /);
        t.type(byte);

        const stopped = await Promise.race([t.exited, new Promise<string>((r) => setTimeout(() => r('still running 15 s later'), 15_000))]);
        expect(stopped).toBe(0);
        expect(t.screen()).toContain('Stopping PerpDesk');
        expect(await portClosed(port)).toBe(true);
      } finally {
        t.cleanup();
      }
    }, 45_000);
  }
});
