import { describe, expect, it } from 'vitest';
import { approverNames, duplicateApprovalNotice, isOverdue, recordedApprovalNotice, selfApprovalRefusal } from '../../src/services/approvals/decision.js';

const ann = { platform: 'telegram' as const, userId: '1', displayName: 'Ann' };
const bob = { platform: 'telegram' as const, userId: '2', displayName: 'Bob' };

describe('approval decision rules (shared by order previews and harvester proposals)', () => {
  it('should treat a click at the deadline, or past the deadline printed in the button, as overdue', () => {
    expect(isOverdue(999, 1_000, 0)).toBe(false);
    expect(isOverdue(1_000, 1_000, 0)).toBe(true);
    // The button's own deadline (seconds) also counts, but only once passed.
    expect(isOverdue(5_000, 10_000, 5)).toBe(false);
    expect(isOverdue(5_001, 10_000, 5)).toBe(true);
  });

  it('should refuse self-approval unless both the rule at request time and the current configuration allow it', () => {
    const refusal = 'You requested this order, so someone else must approve it (self-approval is off: ALLOW_SELF_APPROVAL=false).';
    expect(selfApprovalRefusal(ann, ann, true, true, 'order')).toBeNull();
    expect(selfApprovalRefusal(ann, ann, true, false, 'order')).toBe(refusal);
    expect(selfApprovalRefusal(ann, ann, false, true, 'order')).toBe(refusal);
    expect(selfApprovalRefusal(bob, ann, false, false, 'order')).toBeNull();
    // Same user id on another platform is another person.
    expect(selfApprovalRefusal({ ...ann, platform: 'discord' }, ann, false, false, 'order')).toBeNull();
    // A system requester is nobody's self.
    expect(selfApprovalRefusal(ann, null, false, false, 'proposal')).toBeNull();
  });

  it('should word counts and approvers the same way for every kind of request', () => {
    expect(duplicateApprovalNotice('proposal', 1, 2)).toBe('You already approved this proposal (1 of 2); it needs another approver.');
    expect(recordedApprovalNotice(1, 3)).toBe('Your approval is recorded (1 of 3).');
    expect(approverNames([ann, bob])).toBe('Ann, Bob');
    expect(approverNames([])).toBe('nobody');
  });
});
