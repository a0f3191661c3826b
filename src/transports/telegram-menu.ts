/**
 * The Telegram command menus (setMyCommands scopes): the read-only commands for everyone, the trading commands in
 * traders' private chats and the team alert chat, every command in admins' private chats. Menus only guide: the
 * role lists decide what runs.
 */
import type { CommandDef } from '../../commands/define.js';
import type { Config } from '../config/env.js';
import { rolesOf } from '../config/principals.js';

export type MenuScope = { type: 'default' } | { type: 'chat'; chat_id: number };

export interface Menu {
  scope: MenuScope;
  commands: string[];
}

type MenuConfig = Pick<Config, 'traders' | 'approvers' | 'admins' | 'viewers' | 'people'>;

/** Every Telegram user id the lists name, directly or as another account of a listed person. */
function telegramUsers(c: MenuConfig): string[] {
  const ids = new Set<string>();
  for (const p of [...c.traders, ...c.approvers, ...c.admins, ...c.viewers]) if (p.kind === 'telegram') ids.add(p.id);
  for (const person of c.people) for (const a of person.accounts) if (a.platform === 'telegram') ids.add(a.id);
  return [...ids];
}

/** `alertChat` is the team alert chat's id as it is now (after any supergroup upgrade). */
export function telegramMenus(commands: readonly CommandDef[], c: MenuConfig, alertChat?: string): Menu[] {
  const names = (f: (d: CommandDef) => boolean) => commands.filter(f).map((d) => d.name);
  const readOnly = names((d) => d.role === 'viewer');
  const trading = names((d) => d.role === 'viewer' || d.role === 'trader');
  const all = names(() => true);
  const menus: Menu[] = [{ scope: { type: 'default' }, commands: readOnly }];
  if (alertChat) menus.push({ scope: { type: 'chat', chat_id: Number(alertChat) }, commands: trading });
  for (const userId of telegramUsers(c)) {
    const roles = rolesOf({ platform: 'telegram', userId, displayName: '', roleIds: [] }, c);
    if (roles.has('admin')) menus.push({ scope: { type: 'chat', chat_id: Number(userId) }, commands: all });
    else if (roles.has('trader')) menus.push({ scope: { type: 'chat', chat_id: Number(userId) }, commands: trading });
  }
  return menus;
}
