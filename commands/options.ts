import type { Role } from '../src/config/principals.js';

/** One option of a command: drives Discord registration, text parsing, usage help and validation. */
export interface OptionSpec {
  readonly name: string;
  readonly description: string;
  readonly type: 'string' | 'number' | 'integer';
  readonly required?: boolean;
  readonly choices?: readonly string[];
  /** Discord autocomplete source. */
  readonly autocomplete?: 'symbol';
  readonly min?: number;
  readonly max?: number;
  readonly maxLength?: number;
}

/** What /help and usage lines need of a command; `CommandDef` is one, without the context it runs in. */
export interface CommandSummary {
  readonly name: string;
  readonly description: string;
  readonly role: Role;
  readonly options: readonly OptionSpec[];
}

export function usage(def: Pick<CommandSummary, 'name' | 'options'>): string {
  const parts = def.options.map((o) => {
    const label = o.choices ? o.choices.join('|') : o.name;
    return o.required ? `<${label}>` : `[${label}]`;
  });
  return [`/${def.name}`, ...parts].join(' ');
}
