/**
 * Who a chat account is as a person (PERPDESK_PEOPLE), resolved from the current configuration. Approvals count
 * people: the same person clicking from Discord and Telegram is one approver, and never approves their own request.
 */
import type { CommandContext, Invocation } from './context.js';
import { accountKey, accountsOfSamePerson, personNameOf } from '../src/config/people.js';
import type { Person } from '../src/services/approvals/types.js';

/** The invocation with `actor.person` set from the configuration (and cleared when the account is nobody's). */
export function identify(ctx: Pick<CommandContext, 'config'>, inv: Invocation): Invocation {
  const person = personNameOf(ctx.config.people, inv.actor.platform, inv.actor.userId);
  const { person: _ignored, ...actor } = inv.actor;
  return { ...inv, actor: person === undefined ? actor : { ...actor, person } };
}

/** A stored person (e.g. an approval's requester) as the current configuration groups it. */
export function asConfigured(ctx: Pick<CommandContext, 'config'>, p: Person): Person {
  const person = personNameOf(ctx.config.people, p.platform, p.userId);
  const { person: _ignored, ...rest } = p;
  return person === undefined ? rest : { ...rest, person };
}

/** Keys the same person may have approved under before being grouped: each of their accounts. */
export function otherKeysOf(ctx: Pick<CommandContext, 'config'>, p: Person): string[] {
  return accountsOfSamePerson(ctx.config.people, p.platform, p.userId).map(accountKey);
}
