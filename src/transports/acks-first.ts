/**
 * Interactions still waiting for their first answer, so that work which can wait (a clicker's private follow-up
 * note, edits of a message's copies in other chats) lets them go first: when a crowd clicks at once, every click is
 * acknowledged before any of them sends its follow-ups. Nothing waits longer than `maxWaitMs`, so a steady stream of
 * interactions cannot hold the follow-ups back for long.
 */
export class AcksFirst {
  #unanswered = 0;
  readonly #waiting = new Set<() => void>();

  constructor(private readonly maxWaitMs = 250) {}

  /** An interaction arrived; the returned function marks its first answer given (or given up). Idempotent. */
  arrived(): () => void {
    this.#unanswered++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#unanswered--;
      if (this.#unanswered === 0) for (const release of [...this.#waiting]) release();
    };
  }

  /** How many interactions are still waiting for their first answer. */
  get unanswered(): number {
    return this.#unanswered;
  }

  /** Resolves once no interaction waits for its first answer, or after `maxWaitMs`. */
  settled(): Promise<void> {
    if (this.#unanswered === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const release = () => {
        clearTimeout(timer);
        this.#waiting.delete(release);
        resolve();
      };
      const timer = setTimeout(release, this.maxWaitMs);
      this.#waiting.add(release);
    });
  }
}
