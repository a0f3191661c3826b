/**
 * The funding harvester's entry/exit rule (domain.md §8), shared by `harvesterDecision` and the backtest loop so
 * the live job and the backtest can never disagree about when to trade. Plain number comparisons: the backtest
 * calls these once per settlement in its hot loop.
 */
import { gte, lt } from './numbers.js';

/** Flat -> enter when the annualised rate is at or above the entry threshold (exactly 50 % enters). */
export function harvesterShouldEnter(annRate: number, minAnnRate: number): boolean {
  return gte(annRate, minAnnRate);
}

/** Holding -> exit when the annualised rate falls below half the entry threshold (exactly 25 % holds). */
export function harvesterShouldExit(annRate: number, minAnnRate: number): boolean {
  return lt(annRate, minAnnRate / 2);
}
