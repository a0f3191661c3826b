/**
 * The rules an Approve / Reject click is judged by, shared by order previews and harvester proposals so the two
 * cannot drift apart: when a click is too late, when the clicker may not approve their own request, and what the
 * clicker is told about counts. Pure functions: the handlers keep their own persistence and execution.
 */
import { samePerson, type Person } from './types.js';

/** Past the record's deadline, or past the deadline printed in the clicked button (`exp`, seconds; 0 = none). */
export function isOverdue(now: number, expiresAt: number, buttonExpSeconds: number): boolean {
  return now >= expiresAt || (buttonExpSeconds > 0 && now > buttonExpSeconds * 1000);
}

/**
 * Why `approver` may not approve a request made by `requester`, or null. Both the rule stored with the request and
 * the current configuration must allow self-approval: a restart that turns it off also covers requests already shown.
 * One person is one requester whichever account they click from (PERPDESK_PEOPLE). A system requester (harvester)
 * has no key any chat user can have, so it never matches.
 */
export function selfApprovalRefusal(
  approver: Pick<Person, 'platform' | 'userId' | 'person'>,
  requester: Pick<Person, 'platform' | 'userId' | 'person'> | null,
  allowedAtRequest: boolean,
  allowedNow: boolean,
  noun: string,
): string | null {
  if (!requester || (allowedAtRequest && allowedNow)) return null;
  if (!samePerson(approver, requester)) return null;
  return `You requested this ${noun}, so someone else must approve it (self-approval is off: ALLOW_SELF_APPROVAL=false).`;
}

export function duplicateApprovalNotice(noun: string, count: number, required: number): string {
  return `You already approved this ${noun} (${count} of ${required}); it needs another approver.`;
}

export function recordedApprovalNotice(count: number, required: number): string {
  return `Your approval is recorded (${count} of ${required}).`;
}

/** Who approved, for replies and stale-click notices: "Ann, Bob", or "nobody". */
export function approverNames(approvers: readonly Pick<Person, 'displayName'>[]): string {
  return approvers.map((a) => a.displayName).join(', ') || 'nobody';
}
