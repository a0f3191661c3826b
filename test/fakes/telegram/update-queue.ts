import type { TgUpdate } from './types.js';

/** Update types Telegram withholds unless a bot names them in allowed_updates. */
const OPT_IN_TYPES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

export interface PollRequest {
  offset?: number;
  limit?: number;
  /** Seconds to hold the request open when nothing is pending. */
  timeoutSeconds?: number;
  /** undefined keeps the previous setting; [] restores the default. */
  allowedUpdates?: string[];
}

interface Waiter {
  request: PollRequest;
  resolve: (updates: TgUpdate[]) => void;
  timer: NodeJS.Timeout;
}

/**
 * Pending updates and the one long poll that may wait for them. An update stays until a later
 * getUpdates names an offset past it, so a bot that dies mid-batch sees the batch again.
 */
export class UpdateQueue {
  private pending: TgUpdate[] = [];
  private nextId = 1;
  private confirmedBelow = 1;
  private allowed: ReadonlySet<string> | undefined;
  private readonly filteredOut = new Set<number>();
  private waiter: Waiter | undefined;

  /** Queues an update and wakes a waiting poll; returns its update_id. */
  push(update: Omit<TgUpdate, 'update_id'>): number {
    const updateId = this.nextId++;
    this.pending.push({ update_id: updateId, ...update });
    const waiter = this.waiter;
    if (waiter !== undefined) {
      const ready = this.take(waiter.request);
      if (ready.length > 0) this.finish(waiter, ready);
    }
    return updateId;
  }

  get polling(): boolean {
    return this.waiter !== undefined;
  }

  pendingCount(): number {
    return this.pending.length;
  }

  /** True once a getUpdates offset has moved past `updateId` (the bot finished its batch). */
  isConfirmed(updateId: number): boolean {
    return updateId < this.confirmedBelow || this.filteredOut.has(updateId);
  }

  /** Answers at once when updates are ready or timeout is 0; otherwise waits. `cancel` drops the wait. */
  poll(request: PollRequest): { result: Promise<TgUpdate[]>; cancel: () => void } {
    if (request.allowedUpdates !== undefined) {
      this.allowed = request.allowedUpdates.length === 0 ? undefined : new Set(request.allowedUpdates);
    }
    const ready = this.take(request);
    const timeoutMs = Math.max(0, request.timeoutSeconds ?? 0) * 1000;
    if (ready.length > 0 || timeoutMs === 0) return { result: Promise.resolve(ready), cancel: () => {} };
    let waiter: Waiter | undefined;
    const result = new Promise<TgUpdate[]>((resolve) => {
      const w: Waiter = {
        request: { ...request, offset: undefined },
        resolve,
        timer: setTimeout(() => this.finish(w, []), timeoutMs),
      };
      waiter = w;
      this.waiter = w;
    });
    return {
      result,
      cancel: () => {
        if (waiter !== undefined && this.waiter === waiter) this.finish(waiter, []);
      },
    };
  }

  /** Forgets every pending update (deleteWebhook with drop_pending_updates). */
  dropPending(): void {
    const last = this.pending.at(-1);
    if (last !== undefined) this.confirmedBelow = last.update_id + 1;
    this.pending = [];
  }

  /** Ends a waiting poll with no updates (used on shutdown). */
  release(): void {
    if (this.waiter !== undefined) this.finish(this.waiter, []);
  }

  private finish(waiter: Waiter, updates: TgUpdate[]): void {
    clearTimeout(waiter.timer);
    if (this.waiter === waiter) this.waiter = undefined;
    waiter.resolve(updates);
  }

  private take(request: PollRequest): TgUpdate[] {
    const offset = request.offset ?? 0;
    if (offset > 0) this.confirm(offset);
    else if (offset < 0) {
      // A negative offset asks for the last |offset| updates and forgets the rest.
      const keep = this.pending.slice(offset);
      const first = keep[0];
      if (first !== undefined) this.confirm(first.update_id);
    }
    this.pending = this.pending.filter((u) => {
      if (this.isAllowed(u)) return true;
      this.filteredOut.add(u.update_id);
      return false;
    });
    const limit = Math.min(100, Math.max(1, request.limit ?? 100));
    return this.pending.slice(0, limit);
  }

  private confirm(offset: number): void {
    this.pending = this.pending.filter((u) => u.update_id >= offset);
    this.confirmedBelow = Math.max(this.confirmedBelow, offset);
  }

  /** Telegram never produces updates of a type the bot opted out of, so they are dropped, not held. */
  private isAllowed(update: TgUpdate): boolean {
    const type = Object.keys(update).find((k) => k !== 'update_id') ?? '';
    return this.allowed === undefined ? !OPT_IN_TYPES.has(type) : this.allowed.has(type);
  }
}
