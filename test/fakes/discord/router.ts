import type { ParsedBody, RestResult } from './http-io.js';

export interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: ParsedBody;
  /** Raw request line, for error messages and `unhandled()`. */
  what: string;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Discord's path with `:name` placeholders, e.g. `/channels/:channel/messages`. */
  pattern: string;
  /** False for interaction callbacks and interaction webhooks, which discord.js sends without a bot token. */
  auth: boolean;
  handle(ctx: RouteContext): RestResult | Promise<RestResult>;
}

/** `METHOD /pattern`: the name `forceRateLimit` and violation records use. */
export function routeId(r: Pick<Route, 'method' | 'pattern'>): string {
  return `${r.method} ${r.pattern}`;
}

export function matchRoute(
  routes: readonly Route[],
  method: string,
  segments: readonly string[],
): { route: Route; params: Record<string, string> } | null {
  for (const route of routes) {
    if (route.method !== method) continue;
    const parts = route.pattern.split('/').filter((p) => p !== '');
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    parts.forEach((p, i) => {
      const seg = segments[i] ?? '';
      if (p.startsWith(':')) params[p.slice(1)] = seg;
      else if (p !== seg) ok = false;
    });
    if (ok) return { route, params };
  }
  return null;
}
