/**
 * A chart of a few cumulative money series over time (the ledger's PnL and funding), with the same stack and font
 * handling as the equity curve (chart.ts): vega-lite → SVG → PNG with resvg.
 */
import type { TopLevelSpec } from 'vega-lite';
import { chartFont, renderSpecPng, type RenderedChart } from './chart.js';

export interface LineSeries {
  name: string;
  color: string;
  points: ReadonlyArray<{ t: number; v: number }>;
}

export interface LinesChartInput {
  title: string;
  subtitle?: string;
  series: readonly LineSeries[];
  yTitle?: string;
  width?: number;
  height?: number;
}

export function linesSpec(input: LinesChartInput, font: string | null): TopLevelSpec {
  const text = font !== null;
  const values = input.series.flatMap((s) => s.points.map((p) => ({ t: p.t, v: p.v, series: s.name })));
  const spanDays = values.length ? (Math.max(...values.map((v) => v.t)) - Math.min(...values.map((v) => v.t))) / 86_400_000 : 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: input.width ?? 900,
    height: input.height ?? 360,
    background: 'white',
    padding: 12,
    ...(text ? { title: { text: input.title, ...(input.subtitle ? { subtitle: input.subtitle } : {}) } } : {}),
    config: { font: font ?? 'sans-serif', view: { stroke: null } },
    layer: [
      { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: '#888888', strokeDash: [4, 4] }, encoding: { y: { field: 'zero', type: 'quantitative' } } },
      {
        data: { values },
        // Money changes at fills and settlements only, so the lines step.
        mark: { type: 'line', strokeWidth: 1.5, interpolate: 'step-after' },
        encoding: {
          x: { field: 't', type: 'temporal', title: text ? 'UTC' : null, axis: { labels: text, grid: false, format: spanDays > 2 ? '%b %d' : '%H:%M' } },
          y: { field: 'v', type: 'quantitative', title: text ? (input.yTitle ?? 'USD') : null, axis: { labels: text, format: ',.2f' } },
          color: {
            field: 'series', type: 'nominal', title: null,
            scale: { domain: input.series.map((s) => s.name), range: input.series.map((s) => s.color) },
            legend: text ? { orient: 'top-left', labelLimit: 400 } : null,
          },
        },
      },
    ],
  };
}

export async function renderLinesPng(input: LinesChartInput): Promise<RenderedChart> {
  const font = chartFont();
  return renderSpecPng(linesSpec(input, font?.family ?? null), font);
}
