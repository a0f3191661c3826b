/**
 * Server-side equity-curve chart: vega-lite spec -> vega SVG -> PNG with resvg. No browser, no canvas.
 * resvg draws no text without a font, so we look for one on disk; with none the chart is drawn without labels and
 * `textRendered` says so.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import type { TopLevelSpec } from 'vega-lite';

// vega and vega-lite load on first use: they are big, and vega-lite loaded before discord.js breaks discord.js's
// bundled util.inspect under vitest's module loader ("string 'Set()' is not iterable").
export const loadVega = async () => {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  return { vega, compile: vl.compile };
};

export interface EquityChartInput {
  title: string;
  subtitle?: string;
  /** Settlement times (epoch ms), one per event. */
  ts: ArrayLike<number>;
  /** Equity before the first event, then after each event: length = ts.length + 1. */
  equity: ArrayLike<number>;
  /** Periods in the market, shaded. */
  trades?: ReadonlyArray<{ entryTs: number; exitTs: number }>;
  initialEquity?: number;
  width?: number;
  height?: number;
}

export interface RenderedChart {
  png: Buffer;
  svg: string;
  /** False when no font file was found: the PNG then has no title or axis labels. */
  textRendered: boolean;
}

/** More points than pixels only bloats the SVG; buckets keep each one's min and max so drawdowns survive. */
const MAX_POINTS = 1600;

const FONT_DIRS = ['/usr/share/fonts', '/usr/local/share/fonts', join(homedir(), '.fonts'), join(homedir(), '.local/share/fonts')];
const PREFERRED_FONTS = ['DejaVuSans.ttf', 'LiberationSans-Regular.ttf', 'NotoSans-Regular.ttf', 'Arial.ttf'];

export interface FontChoice {
  file: string;
  family: string;
}

let fontChoice: FontChoice | null | undefined;

function findFontFiles(dir: string, depth: number, found: string[]): void {
  if (depth > 4 || found.length > 500) return;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) findFontFiles(p, depth + 1, found);
    else if (/\.(ttf|otf)$/i.test(e.name)) found.push(p);
  }
}

/** One regular sans font file, searched once per process. */
export function chartFont(): FontChoice | null {
  if (fontChoice !== undefined) return fontChoice;
  const files: string[] = [];
  for (const dir of FONT_DIRS) if (existsSync(dir)) findFontFiles(dir, 0, files);
  const byName = new Map(files.map((f) => [f.slice(f.lastIndexOf('/') + 1), f] as const));
  const preferred = PREFERRED_FONTS.find((n) => byName.has(n));
  const file = preferred ? byName.get(preferred) : files.find((f) => !/mono|bold|italic|oblique|serif/i.test(f)) ?? files[0];
  fontChoice = file ? { file, family: familyFromFile(file) } : null;
  return fontChoice;
}

function familyFromFile(file: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1).replace(/\.(ttf|otf)$/i, '');
  if (base.startsWith('DejaVuSans')) return 'DejaVu Sans';
  if (base.startsWith('LiberationSans')) return 'Liberation Sans';
  if (base.startsWith('NotoSans')) return 'Noto Sans';
  return base.replace(/-.*$/, '').replace(/([a-z])([A-Z])/g, '$1 $2');
}

interface Point {
  t: number;
  equity: number;
}

export function equityPoints(ts: ArrayLike<number>, equity: ArrayLike<number>, maxPoints = MAX_POINTS): Point[] {
  const n = ts.length;
  // Point 0 is the equity before the first settlement; plot it at the first stamp.
  const at = (i: number): Point => ({ t: ts[Math.max(0, i - 1)] as number, equity: equity[i] as number });
  const total = n + 1;
  if (total <= maxPoints) return Array.from({ length: total }, (_, i) => at(i));
  const buckets = Math.floor(maxPoints / 2);
  const size = total / buckets;
  const points: Point[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor(b * size);
    const hi = Math.min(total, Math.floor((b + 1) * size));
    let iMin = lo;
    let iMax = lo;
    for (let i = lo; i < hi; i++) {
      if ((equity[i] as number) < (equity[iMin] as number)) iMin = i;
      if ((equity[i] as number) > (equity[iMax] as number)) iMax = i;
    }
    if (iMin === iMax) points.push(at(iMin));
    else if (iMin < iMax) points.push(at(iMin), at(iMax));
    else points.push(at(iMax), at(iMin));
  }
  const last = at(total - 1);
  if (points[points.length - 1]?.t !== last.t || points[points.length - 1]?.equity !== last.equity) points.push(last);
  return points;
}

function spanDays(points: readonly Point[]): number {
  return points.length < 2 ? 0 : ((points[points.length - 1] as Point).t - (points[0] as Point).t) / 86_400_000;
}

export function equitySpec(input: EquityChartInput, font: string | null): TopLevelSpec {
  const points = equityPoints(input.ts, input.equity);
  const initial = input.initialEquity ?? (input.equity[0] as number);
  const text = font !== null;
  const trades = (input.trades ?? []).map((t) => ({ entry: t.entryTs, exit: t.exitTs }));
  const layers: NonNullable<Extract<TopLevelSpec, { layer: unknown }>['layer']> = [];
  if (trades.length > 0) {
    layers.push({
      data: { values: trades },
      mark: { type: 'rect', color: '#8fd19e', opacity: 0.35 },
      encoding: { x: { field: 'entry', type: 'temporal' }, x2: { field: 'exit' } },
    });
  }
  layers.push(
    {
      data: { values: [{ initial }] },
      mark: { type: 'rule', color: '#888888', strokeDash: [4, 4] },
      encoding: { y: { field: 'initial', type: 'quantitative' } },
    },
    {
      data: { values: points },
      mark: { type: 'line', color: '#1f5fa8', strokeWidth: 1.5, interpolate: 'step-after' }, // equity moves only at settlements
      encoding: {
        x: {
          field: 't',
          type: 'temporal',
          title: text ? 'settlement (UTC)' : null,
          // Month names alone are ambiguous on multi-year charts.
          axis: { labels: text, grid: false, format: spanDays(points) > 180 ? '%b %Y' : '%b %d' },
        },
        y: {
          field: 'equity',
          type: 'quantitative',
          title: text ? 'equity' : null,
          scale: { zero: false },
          axis: { labels: text, format: ',.0f' },
        },
      },
    },
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: input.width ?? 900,
    height: input.height ?? 360,
    background: 'white',
    padding: 12,
    ...(text ? { title: { text: input.title, ...(input.subtitle ? { subtitle: input.subtitle } : {}) } } : {}),
    config: { font: font ?? 'sans-serif', view: { stroke: null } },
    layer: layers,
  };
}

export async function renderEquityPng(input: EquityChartInput): Promise<RenderedChart> {
  const font = chartFont();
  return renderSpecPng(equitySpec(input, font?.family ?? null), font);
}

/** Any vega-lite spec to SVG and PNG, with the font the spec was built for (or none, and no text). */
export async function renderSpecPng(spec: TopLevelSpec, font: FontChoice | null): Promise<RenderedChart> {
  const { vega, compile } = await loadVega();
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG(2);
    const resvg = new Resvg(svg, {
      background: 'white',
      font: font
        ? { fontFiles: [font.file], loadSystemFonts: false, defaultFontFamily: font.family, sansSerifFamily: font.family }
        : { loadSystemFonts: false },
    });
    const png = resvg.render().asPng();
    return { png, svg, textRendered: font !== null };
  } finally {
    view.finalize();
  }
}
