/**
 * `npm run bench`: runs every bench/*.bench.ts in its own process and prints their JSON lines.
 * Copy the numbers into BENCHMARKS.md with the machine and date.
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

const dir = new URL('.', import.meta.url).pathname;
const only = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.ts') && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
console.log(JSON.stringify({ machine: { cpus: cpus().length, model: cpus()[0]?.model, memGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version }, date: new Date().toISOString() }));
let failed = 0;
for (const f of files) {
  console.log(`# ${f}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${dir}${f}`], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`# ${f} failed with exit code ${r.status}`);
  }
}
process.exit(failed ? 1 : 0);
