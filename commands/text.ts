import type { CommandDef } from './define.js';

export interface ParsedText {
  name: string;
  args: Record<string, string>;
}

/**
 * Parses `/order BTC-PERP long 1000 3 price:64000` (console and Telegram): positional values fill the options in
 * order, `name:value` or `name=value` set one by name. `/cmd@BotName` is accepted when the name matches.
 * Returns null for text that is not a command.
 */
export function parseCommandText(text: string, commands: readonly CommandDef[], botUsername?: string): ParsedText | { error: string } | null {
  const trimmed = text.trim();
  if (!trimmed.startsWith('/')) return null;
  const [head = '', ...tokens] = trimmed.split(/\s+/);
  let name = head.slice(1);
  const at = name.indexOf('@');
  if (at >= 0) {
    const target = name.slice(at + 1);
    if (botUsername && target.toLowerCase() !== botUsername.toLowerCase()) return null; // addressed to another bot
    name = name.slice(0, at);
  }
  name = name.toLowerCase();
  const def = commands.find((c) => c.name === name);
  if (!def) return { name, args: {} };
  const args: Record<string, string> = {};
  const positional: string[] = [];
  for (const t of tokens) {
    const m = /^([a-z_]+)[:=](.+)$/i.exec(t);
    const opt = m && def.options.find((o) => o.name === m[1]!.toLowerCase());
    if (m && opt) args[opt.name] = m[2]!;
    else positional.push(t);
  }
  const free = def.options.filter((o) => !(o.name in args));
  // A trailing free-text option (e.g. /pause reason) takes the rest of the line.
  for (let i = 0; i < positional.length; i++) {
    const opt = free[i];
    if (!opt) return { error: `Too many values for /${def.name}.` };
    if (i === free.length - 1 && opt.type === 'string' && !opt.choices && !opt.autocomplete) {
      args[opt.name] = positional.slice(i).join(' ');
      break;
    }
    args[opt.name] = positional[i]!;
  }
  return { name, args };
}
