/** Who someone is on a transport, and the roles PERPDESK_* lists give them. */
import { accountsOfSamePerson, type PersonEntry } from './people.js';

export type Role = 'viewer' | 'trader' | 'approver' | 'admin';
export type Platform = 'discord' | 'telegram' | 'console';

export type Principal =
  | { kind: 'discord'; id: string }
  | { kind: 'discord-role'; id: string }
  | { kind: 'telegram'; id: string };

/** A person acting through a transport. `roleIds` are Discord role ids (empty elsewhere). */
export interface Actor {
  platform: Platform;
  userId: string;
  displayName: string;
  roleIds: string[];
  /** The PERPDESK_PEOPLE name this account belongs to, when it is listed there (set by the command dispatcher). */
  person?: string;
}

const ENTRY = /^(discord|discord-role|telegram):(-?\d{1,25})$/;

/** Parses `discord:123,discord-role:456,telegram:789`; throws with the bad entry named. */
export function parsePrincipals(text: string): Principal[] {
  const out: Principal[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const m = ENTRY.exec(entry);
    if (!m) {
      throw new Error(`comma list of discord:<user id>, discord-role:<role id> or telegram:<user id>; got "${entry.slice(0, 40)}"`);
    }
    out.push({ kind: m[1] as Principal['kind'], id: m[2]! });
  }
  return out;
}

/**
 * Whether the list names the actor: their account, one of their Discord roles, or another account of the same
 * person (PERPDESK_PEOPLE), so a person listed by their Discord id holds the same role on Telegram.
 */
export function matches(actor: Actor, list: Principal[], people: readonly PersonEntry[] = []): boolean {
  const accounts = accountsOfSamePerson(people, actor.platform, actor.userId);
  return list.some((p) => {
    if (p.kind === 'discord-role') return actor.platform === 'discord' && actor.roleIds.includes(p.id);
    return accounts.some((a) => a.platform === p.kind && a.id === p.id);
  });
}

export interface RoleLists {
  traders: Principal[];
  approvers: Principal[];
  admins: Principal[];
  viewers?: Principal[];
  people?: readonly PersonEntry[];
}

/** Named by any PERPDESK_* role list (viewers included): such a person may read from any chat, a DM included. */
export function isListed(actor: Actor, lists: RoleLists): boolean {
  if (actor.platform === 'console') return true;
  const people = lists.people ?? [];
  return [lists.viewers ?? [], lists.traders, lists.approvers, lists.admins].some((l) => matches(actor, l, people));
}

/**
 * Roles are cumulative (admin ⊇ approver ⊇ trader ⊇ viewer is NOT assumed: each list grants its own role, and
 * admins also hold every role). The console is the operator's own terminal, so it holds every role.
 */
export function rolesOf(actor: Actor, lists: RoleLists): Set<Role> {
  const roles = new Set<Role>(['viewer']);
  if (actor.platform === 'console') return new Set<Role>(['viewer', 'trader', 'approver', 'admin']);
  const people = lists.people ?? [];
  const admin = matches(actor, lists.admins, people);
  if (admin) roles.add('admin');
  if (admin || matches(actor, lists.traders, people)) roles.add('trader');
  if (admin || matches(actor, lists.approvers, people)) roles.add('approver');
  return roles;
}
