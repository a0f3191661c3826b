#!/usr/bin/env node
// Compiles src/, commands/ and jobs/ to dist/ with tsc when any source is newer than the last build, so `npm start`
// runs compiled JavaScript (fast start, no devDependencies at run time) without a separate build step.
// `--force` always builds. Plain JavaScript on purpose: it must run before anything is compiled.
import { existsSync, readdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');
const inputs = ['src', 'commands', 'jobs', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

const force = process.argv.includes('--force');
const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const sourcesAt = Math.max(...inputs.map((p) => join(root, p)).filter(existsSync).map(newest));
if (!force && built >= sourcesAt) process.exit(0);

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  if (built > 0) {
    process.stderr.write('perpdesk: sources are newer than dist/ but TypeScript is not installed (npm ci --omit=dev); running the existing build\n');
    process.exit(0);
  }
  process.stderr.write('perpdesk: dist/ is missing and TypeScript is not installed: run `npm ci` (or `bash scripts/setup.sh`) first\n');
  process.exit(1);
}
process.stderr.write('perpdesk: compiling to dist/ ...\n');
if (force) rmSync(join(root, 'dist'), { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
writeFileSync(stamp, `${new Date().toISOString()}\n`);
