import type { Logger } from './log.js';

/**
 * Resources are pushed as they are built and closed in reverse on shutdown: intake first, Redis last. Each close
 * runs in its own try/catch so one failure never skips the rest, and closing twice is harmless.
 */
export class Lifecycle {
  #stack: { name: string; close: () => Promise<void> | void }[] = [];
  #closing: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  add(name: string, close: () => Promise<void> | void): void {
    this.#stack.push({ name, close });
  }

  close(timeoutMs = 10_000): Promise<void> {
    this.#closing ??= this.#run(timeoutMs);
    return this.#closing;
  }

  async #run(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#stack.length) {
      const r = this.#stack.pop()!;
      const left = Math.max(100, deadline - Date.now());
      try {
        await Promise.race([
          Promise.resolve().then(r.close),
          new Promise((_, rej) => setTimeout(() => rej(new Error(`close timed out after ${left} ms`)), left).unref()),
        ]);
        this.log.debug({ resource: r.name }, 'closed');
      } catch (err) {
        this.log.warn({ resource: r.name, err }, 'close failed');
      }
    }
  }
}
