import { ruleUnit, type AlertRule } from '../../domain/alert-rules.js';
import { price as fmtPrice } from '../../format.js';

/** A rule's value for people, in the rule's unit (percent for % rules, a price otherwise). */
export function ruleValueText(rule: Pick<AlertRule, 'metric'>, v: number): string {
  if (ruleUnit(rule) === '') return fmtPrice(v);
  return `${v.toFixed(rule.metric === 'funding' ? 4 : 2)}%`;
}
