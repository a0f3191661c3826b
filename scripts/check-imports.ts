/**
 * Checks the import graph of the shipped code (README "Layout"): imports point down only, and no module reaches
 * itself through a cycle. `npm run check:imports`; CI runs it through test/layout.test.ts.
 *
 * Hand-written over TypeScript's own `preProcessFile` because dependency-cruiser 18 needs Node 22 and 16 cannot
 * parse TypeScript 6; the rules are a few lines either way.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Lowest level first. A module may import its own layer and any lower level, never a higher one nor a sibling
 * layer on its own level (a command never reaches into a job, nor a job into a command: what both need is a
 * service).
 */
export const LAYERS: readonly { name: string; level: number; match: RegExp }[] = [
  { name: 'domain', level: 0, match: /^src\/domain\// },
  { name: 'base', level: 1, match: /^src\/(chat|config|metrics)\/|^src\/(format|errors|log)\.ts$/ },
  { name: 'infrastructure', level: 2, match: /^src\/(exchange|queues|venues)\// },
  { name: 'services', level: 3, match: /^src\/(services|backtest)\// },
  { name: 'commands', level: 4, match: /^commands\// },
  { name: 'jobs', level: 4, match: /^jobs\// },
  { name: 'transports and http', level: 5, match: /^src\/(transports|http)\// },
  { name: 'composition root', level: 6, match: /^src\/(app|main|worker-main|lifecycle|process-signals|chat-role)\.ts$/ },
];

export interface Problem {
  kind: 'upward' | 'cycle' | 'unlayered';
  text: string;
}

export function layerOf(file: string): number {
  return LAYERS.findIndex((l) => l.match.test(file));
}

function sources(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const rel = `${dir}/${name}`;
    if (statSync(join(root, rel)).isDirectory()) out.push(...sources(root, rel));
    else if (rel.endsWith('.ts') && !rel.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Repo-relative file → the repo-relative files it imports (relative specifiers only; packages are not ours). */
export function importGraph(root: string, dirs: readonly string[] = ['src', 'commands', 'jobs']): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of dirs.flatMap((d) => sources(root, d))) {
    const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(root, resolve(root, dirname(file), spec)).replace(/\.js$/, '.ts'));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

export function checkGraph(graph: Map<string, string[]>): Problem[] {
  const problems: Problem[] = [];
  for (const [from, targets] of graph) {
    const lf = layerOf(from);
    if (lf < 0) problems.push({ kind: 'unlayered', text: `${from} belongs to no layer: add its folder to LAYERS` });
    for (const to of targets) {
      const lt = layerOf(to);
      if (lf >= 0 && lt >= 0 && lt !== lf && LAYERS[lt]!.level >= LAYERS[lf]!.level) problems.push({ kind: 'upward', text: `${from} (${LAYERS[lf]!.name}) imports ${to} (${LAYERS[lt]!.name})` });
    }
  }
  // Tarjan's strongly connected components: any component with more than one module (or a self-import) is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) problems.push({ kind: 'cycle', text: `cycle: ${comp.sort().join(' ↔ ')}` });
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const graph = importGraph(root);
  const problems = checkGraph(graph);
  for (const p of problems) console.error(`${p.kind}: ${p.text}`);
  console.log(`${graph.size} modules, ${[...graph.values()].reduce((n, t) => n + t.length, 0)} imports, ${problems.length} problems`);
  process.exit(problems.length ? 1 : 0);
}
