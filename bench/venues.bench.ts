/**
 * What ccxt (MARKET_VENUES, issue 17) adds: install time (`npm ci --prefer-offline`, from a warmed npm cache) and size on disk
 * of production node_modules (`npm ci --omit=dev`) with and without ccxt, each in a fresh copy of package.json and
 * the lock under /tmp; and start-up of the compiled bot (spawn → first 200 from /readyz) and its idle RSS 10 s after
 * ready, without MARKET_VENUES and with four venues behind the relay stand-in; and the bare `import('ccxt')` in a fresh
 * process (time, RSS added) (the venue sampler's first run, which
 * loads the markets, falls in that idle window). Runs alternate between the two so machine load hits both alike.
 * `npx tsx bench/venues.bench.ts` prints JSON lines; BENCH_RUNS (default 5), BENCH_INSTALL=0 skips the installs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startVenueRelay } from '../test/fakes/venue-relay/relay.js';

const root = new URL('..', import.meta.url).pathname;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const IDLE_MS = 10_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A copy of the manifest and lock, optionally without ccxt (removed by npm itself, offline). */
function project(withCcxt: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), `pd-bench-ccxt-${withCcxt ? 'with' : 'without'}-`));
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  cpSync(join(root, 'package-lock.json'), join(dir, 'package-lock.json'));
  if (!withCcxt) {
    const r = spawnSync('npm', ['uninstall', 'ccxt', '--package-lock-only', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm uninstall ccxt failed: ${r.stderr}`);
  }
  return dir;
}

function install(dir: string, prodOnly: boolean): { ms: number; bytes: number } {
  rmSync(join(dir, 'node_modules'), { recursive: true, force: true });
  const t0 = performance.now();
  const r = spawnSync('npm', ['ci', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', ...(prodOnly ? ['--omit=dev'] : [])], { cwd: dir, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`npm ci failed in ${dir}: ${r.stderr.slice(-2000)}`);
  const du = spawnSync('du', ['-sb', join(dir, 'node_modules')], { encoding: 'utf8' });
  return { ms, bytes: Number(du.stdout.split('\t')[0]) };
}

async function startOnce(env: Record<string, string>): Promise<{ readyMs: number; rssMb: number }> {
  const data = mkdtempSync(join(tmpdir(), 'pd-bench-venues-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--max-semi-space-size=2', '--enable-source-maps', 'dist/src/main.js'], {
    cwd: root,
    env: { ...process.env, DATA_DIR: data, HTTP_PORT: '0', REDIS_URL: '', DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '', MARKET_VENUES: '', ...env },
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
      if (await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const readyMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return { readyMs, rssMb: Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024 };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
    rmSync(data, { recursive: true, force: true });
  }
}

if (process.env.BENCH_INSTALL !== '0') {
  // One unmeasured install first, so every tarball is in the npm cache and both variants install from it alike.
  const warm = project(true);
  install(warm, false);
  rmSync(warm, { recursive: true, force: true });
  for (const withCcxt of [false, true]) {
    const dir = project(withCcxt);
    try {
      const full = install(dir, false);
      const prod = install(dir, true);
      console.log(JSON.stringify({
        bench: `install_${withCcxt ? 'with' : 'without'}_ccxt`,
        npm_ci_ms: Math.round(full.ms),
        node_modules_mb: +(full.bytes / 1e6).toFixed(1),
        npm_ci_omit_dev_ms: Math.round(prod.ms),
        prod_node_modules_mb: +(prod.bytes / 1e6).toFixed(1),
      }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

// What loading ccxt alone costs a fresh Node process: the import, and RSS before and after it.
const imports: { ms: number; rssMb: number }[] = [];
for (let i = 0; i < RUNS; i++) {
  const script = "const r0 = process.memoryUsage().rss; const t0 = performance.now(); await import('ccxt'); const ms = performance.now() - t0; console.log(JSON.stringify({ ms, rssMb: (process.memoryUsage().rss - r0) / 1048576 }));";
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  imports.push(JSON.parse(r.stdout) as { ms: number; rssMb: number });
}
console.log(JSON.stringify({
  bench: 'ccxt_import',
  runs: RUNS,
  import_ms_median: Math.round(median(imports.map((x) => x.ms))),
  rss_added_mb_median: +median(imports.map((x) => x.rssMb)).toFixed(1),
}));

const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
const relay = await startVenueRelay();
const variants = {
  without_market_venues: {},
  with_market_venues: { MARKET_VENUES: 'binanceusdm,bybit,okx,hyperliquid', MARKET_VENUES_PROXY_URL: relay.proxyUrl },
} as Record<string, Record<string, string>>;
const results: Record<string, { ready: number[]; rss: number[] }> = {};
for (let i = 0; i < RUNS; i++) {
  for (const [name, env] of Object.entries(variants)) {
    const r = await startOnce(env);
    (results[name] ??= { ready: [], rss: [] }).ready.push(r.readyMs);
    results[name].rss.push(r.rssMb);
  }
}
for (const [name, r] of Object.entries(results)) {
  console.log(JSON.stringify({
    bench: `start_${name}`,
    runs: RUNS,
    ready_ms_median: Math.round(median(r.ready)),
    ready_ms_max: Math.round(Math.max(...r.ready)),
    idle_rss_mb_median: +median(r.rss).toFixed(1),
  }));
}
console.log(JSON.stringify({ bench: 'venue_relay', requests: relay.requests.length, unmatched: relay.unmatched.length }));
await relay.close();
