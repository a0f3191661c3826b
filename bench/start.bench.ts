/**
 * Start-up of the bot on the embedded defaults (console, paper exchange, private redis-server): time from spawn
 * to the first 200 from /readyz, and idle RSS 5 s after ready, for the compiled build (`npm start`: node
 * dist/src/main.js) and for tsx (`npm run dev`). Targets (issue 15): compiled start ≤ 1.3 s, idle RSS ≤ 110 MB.
 * `npx tsx bench/start.bench.ts` prints JSON lines; runs `node scripts/build.mjs` first.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const FLAGS = ['--max-semi-space-size=2'];
const VARIANTS = {
  compiled: [...FLAGS, '--enable-source-maps', 'dist/src/main.js'],
  tsx: [...FLAGS, '--import', 'tsx', 'src/main.ts'],
} as const;

async function once(args: readonly string[], measureRss: boolean): Promise<{ readyMs: number; rssMb?: number }> {
  const data = mkdtempSync(join(tmpdir(), 'pd-bench-start-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, DATA_DIR: data, HTTP_PORT: '0', REDIS_URL: '', DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '' },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  try {
    let err = '';
    const url = await new Promise<string>((res, rej) => {
      child.stderr.on('data', (d: Buffer) => {
        err += String(d);
        const m = /listening on (http:\/\/[\d.:]+)/.exec(err);
        if (m) res(m[1]!);
      });
      child.once('exit', () => rej(new Error(`exited before ready: ${err}`)));
    });
    for (;;) {
      const ok = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const readyMs = performance.now() - t0;
    if (!measureRss) return { readyMs };
    await new Promise((r) => setTimeout(r, 5000));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return { readyMs, rssMb: +(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024).toFixed(1) };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
    rmSync(data, { recursive: true, force: true });
  }
}

const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
for (const [name, args] of Object.entries(VARIANTS)) {
  const ready: number[] = [];
  let rss = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = await once(args, i === RUNS - 1);
    ready.push(r.readyMs);
    if (r.rssMb) rss = r.rssMb;
  }
  ready.sort((a, b) => a - b);
  console.log(JSON.stringify({
    bench: `start_${name}`,
    runs: RUNS,
    ready_ms_median: +ready[Math.floor(RUNS / 2)]!.toFixed(0),
    ready_ms_max: +ready[RUNS - 1]!.toFixed(0),
    idle_rss_mb: rss,
    ...(name === 'compiled' ? { target_ready_ms: 1300, target_rss_mb: 110 } : {}),
  }));
}
