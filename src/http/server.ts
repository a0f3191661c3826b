import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { MetricsSource } from '../metrics/scrape.js';

export interface HttpServerOptions {
  port: number;
  host?: string;
  /** Resolves true when Redis answers (and anything else readiness needs). */
  ready: () => Promise<boolean>;
  /** What /metrics answers (src/metrics/scrape.ts). */
  metrics: MetricsSource;
  /** Extra handlers by path prefix (e.g. the queue dashboard), tried before the built-in GET routes. */
  mounts?: readonly { prefix: string; handle(req: IncomingMessage, res: ServerResponse): void }[];
}

export interface HttpServerHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** /healthz (process up), /readyz (dependencies answer), /metrics (Prometheus). */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServerHandle> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    const mount = opts.mounts?.find((m) => path === m.prefix || path?.startsWith(`${m.prefix}/`));
    if (mount) return mount.handle(req, res);
    if (req.method !== 'GET') return send(405, 'method not allowed\n');
    if (path === '/healthz') return send(200, 'ok\n');
    if (path === '/readyz') {
      const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref());
      void Promise.race([opts.ready().catch(() => false), timeout]).then((ok) => send(ok ? 200 : 503, ok ? 'ready\n' : 'not ready\n'));
      return;
    }
    if (path === '/metrics') {
      void opts.metrics.metrics().then(
        (m) => send(200, m, opts.metrics.contentType),
        () => send(500, 'metrics failed\n'),
      );
      return;
    }
    send(404, 'not found\n');
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => {
      closed ??= new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
