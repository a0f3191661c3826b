import { z } from 'zod';
import type { Role } from '../src/config/principals.js';
import type { ButtonId } from '../src/chat/button-id.js';
import type { CommandContext, Invocation } from './context.js';
import type { OptionSpec } from './options.js';

export type { OptionSpec } from './options.js';
import type { Reply } from '../src/chat/reply.js';

type ValueOf<O extends OptionSpec> = O['type'] extends 'string'
  ? O['choices'] extends readonly (infer C)[]
    ? C
    : string
  : number;

export type ArgsOf<O extends readonly OptionSpec[]> = {
  [K in O[number] as K['name']]: K extends { required: true } ? ValueOf<K> : ValueOf<K> | undefined;
};

export type SideEffect = 'none' | 'order' | 'control';

export interface CommandDef<O extends readonly OptionSpec[] = readonly OptionSpec[]> {
  readonly name: string;
  readonly description: string;
  readonly role: Role;
  readonly sideEffect: SideEffect;
  readonly options: O;
  /** May take longer than ~1 s (exchange round trips, rendering): transports defer first. */
  readonly slow?: boolean;
  run(ctx: CommandContext, args: ArgsOf<O>, inv: Invocation): Promise<Reply>;
}

export function defineCommand<const O extends readonly OptionSpec[]>(def: CommandDef<O>): CommandDef<O> {
  return def;
}

/** What a button click produces: a replacement for the message it sits on, and/or a note to the clicker only. */
export interface ButtonResult {
  update?: Reply;
  notice?: string;
  /**
   * Work that follows the answer, such as editing the other copies of the message in other chats: the clicker is
   * answered first. Only for work the answer does not depend on (the decision is persisted before the result is
   * returned). Every caller runs it once the click is answered; it never rejects.
   */
  afterAnswer?: () => Promise<void>;
}

/** What a transport may be told while a click is being worked on. */
export interface ClickProgress {
  /**
   * The click is one of several on the same decision at once (a crowd on one Approve): its answer waits for that
   * shared decision, so the transport may acknowledge it now with a deferral that says nothing yet, and answer with
   * the result once it comes.
   */
  crowded(): void;
}

export interface ButtonDef {
  /** The `action` part of the button id, e.g. `ap` for approve. */
  readonly action: string;
  readonly role: Role;
  run(ctx: CommandContext, id: ButtonId, inv: Invocation, progress?: ClickProgress): Promise<ButtonResult>;
}

export function defineButton(def: ButtonDef): ButtonDef {
  return def;
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

type ArgsSchema = z.ZodType<Record<string, string | number | undefined>>;
/** Built once per command: building a zod schema costs more than parsing with it. */
const schemas = new WeakMap<readonly OptionSpec[], ArgsSchema>();

/** The zod schema of a command's options (text transports send strings, Discord sends typed values). */
export function argsSchema(options: readonly OptionSpec[]): ArgsSchema {
  let s = schemas.get(options);
  if (!s) schemas.set(options, (s = buildArgsSchema(options)));
  return s;
}

function buildArgsSchema(options: readonly OptionSpec[]): ArgsSchema {
  const shape: Record<string, z.ZodType> = {};
  for (const o of options) {
    let s: z.ZodType;
    if (o.type === 'string') {
      let str = z.string({ error: `${o.name} must be text` }).trim().min(1, `${o.name} must not be empty`).max(o.maxLength ?? 200, `${o.name} is too long`);
      if (o.choices) {
        const choices = o.choices;
        s = str.transform((v) => v.toLowerCase()).pipe(z.enum(choices as [string, ...string[]], { error: `${o.name} must be one of: ${choices.join(', ')}` }));
      } else s = str;
    } else {
      const what = o.type === 'integer' ? 'a whole number' : 'a number';
      let n = z.number({ error: `${o.name} must be ${what}` }).finite(`${o.name} must be ${what}`);
      if (o.type === 'integer') n = n.int(`${o.name} must be a whole number`);
      if (o.min !== undefined) n = n.min(o.min, `${o.name} must be at least ${o.min}`);
      if (o.max !== undefined) n = n.max(o.max, `${o.name} must be at most ${o.max}`);
      s = z
        .union([
          z.number(),
          z
            .string()
            .trim()
            .transform((v) => v.replace(/[_,]/g, '').replace(/x$/i, ''))
            .refine((v) => DECIMAL.test(v), `${o.name} must be ${what}`)
            .transform(Number),
        ], { error: `${o.name} must be ${what}` })
        .pipe(n);
    }
    shape[o.name] = o.required ? s : s.optional();
  }
  return z.object(shape).strict() as unknown as ArgsSchema;
}

export { usage } from './options.js';
