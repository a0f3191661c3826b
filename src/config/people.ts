/**
 * PERPDESK_PEOPLE: which chat accounts belong to one person (`alice=discord:111+telegram:222,bob=discord:333`).
 * Approvals, four-eyes and self-approval count people, so one person clicking from two platforms is one approver.
 */

export type AccountPlatform = 'discord' | 'telegram';

export interface Account {
  platform: AccountPlatform;
  id: string;
}

export interface PersonEntry {
  name: string;
  accounts: Account[];
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,31}$/;
const ACCOUNT = /^(discord|telegram):(\d{1,25})$/;
const SHAPE = 'name=discord:<user id>+telegram:<user id>, comma-separated';

export function accountKey(a: Account): string {
  return `${a.platform}:${a.id}`;
}

/** Parses the variable; throws with the offending entry named (the caller prefixes the variable name). */
export function parsePeople(text: string): PersonEntry[] {
  const people: PersonEntry[] = [];
  const owner = new Map<string, string>();
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq).trim();
    if (eq < 0 || !NAME.test(name)) throw new Error(`${SHAPE} (a name is a letter then letters, digits, _ . -); got "${entry.slice(0, 60)}"`);
    if (people.some((p) => p.name === name)) throw new Error(`each person once; "${name}" is listed twice`);
    const parts = entry.slice(eq + 1).split('+').map((s) => s.trim()).filter(Boolean);
    if (!parts.length) throw new Error(`at least one account per person; "${name}" has none`);
    const accounts: Account[] = [];
    for (const part of parts) {
      const m = ACCOUNT.exec(part);
      if (!m) throw new Error(`${SHAPE}; got "${part.slice(0, 40)}" in "${name}"`);
      const a: Account = { platform: m[1] as AccountPlatform, id: m[2]! };
      const k = accountKey(a);
      const prior = owner.get(k);
      if (prior !== undefined && prior !== name) throw new Error(`each account in one person only; ${k} is in both "${prior}" and "${name}"`);
      if (prior === name) continue;
      owner.set(k, name);
      accounts.push(a);
    }
    people.push({ name, accounts });
  }
  return people;
}

/** The person an account belongs to, or undefined when it is nobody's listed account. */
export function personNameOf(people: readonly PersonEntry[], platform: string, userId: string): string | undefined {
  return people.find((p) => p.accounts.some((a) => a.platform === platform && a.id === userId))?.name;
}

/** Every account of the person (just the account itself when it belongs to nobody). */
export function accountsOfSamePerson(people: readonly PersonEntry[], platform: string, userId: string): Account[] {
  const p = people.find((e) => e.accounts.some((a) => a.platform === platform && a.id === userId));
  if (p) return p.accounts;
  return platform === 'discord' || platform === 'telegram' ? [{ platform, id: userId }] : [];
}
