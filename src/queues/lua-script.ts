import type { Redis } from 'ioredis';

type Arg = string | number;
type Command = (...a: Arg[]) => Promise<unknown>;

/** The scripts defined on each connection (name → body): a name never resolves to one of ioredis's own commands
 * or to another script. */
const defined = new WeakMap<Redis, Map<string, string>>();

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
    if (keys.length !== this.numberOfKeys) throw new Error(`${this.name}: ${keys.length} keys given, ${this.numberOfKeys} expected`);
    let scripts = defined.get(redis);
    if (!scripts) defined.set(redis, (scripts = new Map()));
    const body = scripts.get(this.name);
    if (body === undefined) {
      if (this.name in redis) throw new Error(`${this.name}: already a command of this connection`);
      redis.defineCommand(this.name, { lua: this.lua, numberOfKeys: this.numberOfKeys });
      scripts.set(this.name, this.lua);
    } else if (body !== this.lua) {
      throw new Error(`${this.name}: another script already uses this name`);
    }
    const command = (redis as unknown as Record<string, Command>)[this.name]!;
    return command.call(redis, ...keys, ...args);
  }
}
