import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkGraph, importGraph } from '../scripts/check-imports.js';

const root = resolve(import.meta.dirname, '..');

describe('import graph', () => {
  it('has no upward import, no sibling-layer import and no cycle in the shipped code', () => {
    const graph = importGraph(root);
    expect(graph.size).toBeGreaterThan(100);
    expect(checkGraph(graph)).toEqual([]);
  });

  it('should report a service importing from a transport as an upward edge', () => {
    const g = new Map([
      ['src/services/alerts/render.ts', ['src/transports/render.ts']],
      ['src/transports/render.ts', []],
    ]);
    expect(checkGraph(g)).toEqual([{ kind: 'upward', text: expect.stringContaining('src/services/alerts/render.ts (services) imports src/transports/render.ts') }]);
  });

  it('should report a command reaching into a job, though both sit on one level', () => {
    const g = new Map([
      ['commands/harvester.ts', ['jobs/funding-harvester.ts']],
      ['jobs/funding-harvester.ts', []],
    ]);
    expect(checkGraph(g).map((p) => p.kind)).toEqual(['upward']);
  });

  it('should report a cycle inside one layer', () => {
    const g = new Map([
      ['commands/context.ts', ['commands/define.ts']],
      ['commands/define.ts', ['commands/context.ts']],
    ]);
    expect(checkGraph(g)).toEqual([{ kind: 'cycle', text: 'cycle: commands/context.ts ↔ commands/define.ts' }]);
  });

  it('should report a module in a folder no layer names', () => {
    const g = new Map([['src/widgets/x.ts', ['src/domain/funding.ts']]]);
    expect(checkGraph(g).map((p) => p.kind)).toEqual(['unlayered']);
  });

  it('should allow imports downward and within a layer', () => {
    const g = new Map([
      ['src/transports/discord.ts', ['commands/registry.ts', 'src/chat/reply.ts']],
      ['commands/registry.ts', ['commands/funding.ts']],
      ['commands/funding.ts', ['src/services/market.ts', 'src/domain/funding.ts']],
      ['src/services/market.ts', ['src/exchange/port.ts']],
      ['src/exchange/port.ts', []],
      ['src/chat/reply.ts', []],
      ['src/domain/funding.ts', []],
    ]);
    expect(checkGraph(g)).toEqual([]);
  });
});
