import { describe, expect, it } from 'vitest';
import { AcksFirst } from '../../src/transports/acks-first.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('AcksFirst', () => {
  it('lets follow-up work go at once when no interaction waits for its first answer', async () => {
    const acks = new AcksFirst();
    let went = false;
    void acks.settled().then(() => (went = true));
    await tick();
    expect(went).toBe(true);
  });

  it('holds follow-up work until every interaction that arrived has its first answer', async () => {
    const acks = new AcksFirst(60_000);
    const first = acks.arrived();
    const second = acks.arrived();
    first();
    let went = false;
    void acks.settled().then(() => (went = true));
    first(); // answering twice counts once
    await tick();
    expect(went).toBe(false);
    expect(acks.unanswered).toBe(1);
    second();
    await tick();
    expect(went).toBe(true);
    expect(acks.unanswered).toBe(0);
  });

  it('never holds follow-up work for good: an interaction that is never answered is waited for at most maxWaitMs', async () => {
    const acks = new AcksFirst(20);
    acks.arrived();
    await acks.settled(); // resolves (else the test times out)
    expect(acks.unanswered).toBe(1);
  });
});
