import type { Redis } from 'ioredis';

type Arg = string | number;
type Command = (...a: Arg[]) => Promise<unknown>;

/**
 * A Lua script run by EVALSHA through ioredis `defineCommand`: the body is sent once per connection (and again only
 * if Redis answers NOSCRIPT after losing its script cache), so a call ships a 40-byte hash instead of the script
 * and Redis does not hash it again on every call.
 */
export class LuaScript {
  /** `name` is the ioredis command it becomes: unique per script. */
  constructor(
    readonly name: string,
    readonly lua: string,
    readonly numberOfKeys: number,
  ) {}

  run(redis: Redis, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    const command = this.#define(redis, keys);
    return command.call(redis, ...keys, ...args);
  }

  /** Runs the script once per call set in one pipeline (one write to the socket); resolves to each call's reply. */
  async runMany(redis: Redis, calls: readonly { keys: readonly string[]; args: readonly Arg[] }[]): Promise<unknown[]> {
    for (const c of calls) this.#define(redis, c.keys);
    // A pipeline made after defineCommand carries the command too.
    const pipeline = redis.pipeline() as unknown as Record<string, Command> & { exec(): Promise<[Error | null, unknown][] | null> };
    for (const c of calls) void pipeline[this.name]!.call(pipeline, ...c.keys, ...c.args);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, reply]) => {
      if (err) throw err;
      return reply;
    });
  }

  #define(redis: Redis, keys: readonly string[]): Command {
    if (keys.length !== this.numberOfKeys) throw new Error(`${this.name}: ${keys.length} keys given, ${this.numberOfKeys} expected`);
    // ioredis keeps the scripts defined on a connection in `scriptsSet`; reading it (not a map keyed by the object we
    // were handed) recognises our own script when the same connection arrives wrapped, e.g. in a Proxy.
    const existing = (redis as unknown as { scriptsSet?: Record<string, { lua: string } | undefined> }).scriptsSet?.[this.name];
    if (existing === undefined) {
      if (this.name in redis) throw new Error(`${this.name}: already a command of this connection`);
      redis.defineCommand(this.name, { lua: this.lua, numberOfKeys: this.numberOfKeys });
    } else if (existing.lua !== this.lua) {
      throw new Error(`${this.name}: another script already uses this name`);
    }
    return (redis as unknown as Record<string, Command>)[this.name]!;
  }
}
