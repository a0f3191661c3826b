import { defineCommand } from './define.js';
import type { CommandContext, Invocation } from './context.js';
import { UserError } from '../src/errors.js';
import { mayReceiveAlerts } from './access.js';
import { destinationOf } from './subscribe.js';
import { personOf } from './order.js';
import { causeOf } from '../src/services/approvals/store.js';
import { formatRule, parseRule, rearmMargin, RULE_EXAMPLES, type AlertRule } from '../src/domain/alert-rules.js';
import { MAX_RULES_PER_CHAT, NEW_RULE_STATE, stateField } from '../src/services/rules/store.js';
import { ruleValueText } from '../src/services/rules/words.js';
import { utc } from '../src/format.js';
import type { Reply } from '../src/chat/reply.js';

const USAGE = [
  'Usage: /alert add <rule>, /alert list, /alert remove <id>. Rules:',
  ...RULE_EXAMPLES.map((e) => `  ${e}`),
  'funding is the rate per interval (add apr for the annualised rate); buffer watches every position; oi is the change over the window.',
  'With MARKET_VENUES, symbol@venue reads that venue instead of the desk\'s exchange: funding BTC-PERP@bybit apr > 30%.',
].join('\n');

function refuseChat(inv: Invocation): never {
  const chat = inv.platform === 'discord' ? `discord-channel:${inv.chatId}` : `${inv.platform}:${inv.chatId}`;
  throw new UserError(
    'chat_not_allowed',
    `Alert rules go only to the team's chats, and this one is not listed: add rules in a private chat with the bot, or ask the team to add ${chat} to PERPDESK_CHATS.`,
  );
}

/** The rule with its symbol resolved like every other command's (`btc` → BTC-PERP; unknown → closest). */
async function resolved(ctx: CommandContext, rule: AlertRule): Promise<AlertRule> {
  if (!('target' in rule)) return rule;
  const venue = rule.target.venue;
  if (venue !== undefined) {
    // A venue's data comes from MARKET_VENUES (issue 17): only those venues, and not the buffer of positions it has none of.
    if (!ctx.venues) {
      throw new UserError('venue_rule', `Rules on a venue's data (${rule.target.symbol}@${venue}) need MARKET_VENUES, which is not set: write the symbol without @venue for the desk's exchange.`);
    }
    if (!ctx.venues.ids.includes(venue)) {
      throw new UserError('venue_rule', `${venue} is not one of the venues PerpDesk reads (MARKET_VENUES: ${ctx.venues.ids.join(', ')}).`);
    }
  }
  const inst = await ctx.market.resolve(rule.target.symbol);
  return { ...rule, target: { ...rule.target, symbol: inst.symbol } };
}

function rearmWords(rule: AlertRule): string {
  const m = rearmMargin(rule);
  const at = rule.op === '>' ? rule.threshold - m : rule.threshold + m;
  return `It fires once when the condition holds, and again only after the value has been back at ${ruleValueText(rule, at)} or ${rule.op === '>' ? 'below' : 'above'}.`;
}

async function add(ctx: CommandContext, inv: Invocation, text: string | undefined): Promise<Reply> {
  if (!text) throw new UserError('bad_rule', `Which rule? ${USAGE}`);
  const p = parseRule(text);
  if (!p.ok) throw new UserError('bad_rule', `Cannot read the rule "${text.slice(0, 80)}": ${p.error}.\n${USAGE}`);
  const rule = await resolved(ctx, p.rule);
  const canonical = formatRule(rule);
  const dest = destinationOf(inv);
  const r = await ctx.rules.add(dest, canonical, rule, inv.actor.displayName, ctx.now());
  if (r.kind === 'duplicate') throw new UserError('duplicate_rule', `This chat already has the rule ${r.id}: ${canonical}.`);
  if (r.kind === 'full') {
    throw new UserError('too_many_rules', `Not added: this chat has ${r.count} alert rules, the most a chat may keep is ${MAX_RULES_PER_CHAT}. Remove one first (/alert list, /alert remove <id>).`);
  }
  await ctx.audit.append({ ts: ctx.now(), ...causeOf(personOf(inv)), action: 'alert.rule_added', subject: r.rule.id, detail: `${canonical} in ${dest.platform}:${dest.chatId}` });
  return {
    title: `Alert rule ${r.rule.id} added`,
    text: `${canonical}\n${rearmWords(rule)} Checked every ${ctx.config.CASCADE_INTERVAL_SECONDS} s${'target' in rule && rule.target.venue ? ` against ${rule.target.venue}'s latest reading (the venue sampler reads it every 5 min)` : ''}; alerts come to this chat only.`,
    severity: 'success',
  };
}

async function list(ctx: CommandContext, inv: Invocation): Promise<Reply> {
  const dest = destinationOf(inv);
  const rules = await ctx.rules.list(dest);
  const states = await ctx.rules.statesOf(rules);
  if (!rules.length) return { text: `This chat has no alert rules. ${USAGE}`, severity: 'info' };
  return {
    title: `Alert rules in this chat (${rules.length} of ${MAX_RULES_PER_CHAT})`,
    table: {
      headers: ['id', 'rule', 'last value', 'state', 'last fired'],
      rows: rules.map((r) => {
        const s = states.get(stateField(r)) ?? NEW_RULE_STATE;
        return [
          r.id,
          r.text,
          s.lastValue === null ? 'not yet' : ruleValueText(r.rule, s.lastValue),
          s.armed ? 'armed' : 'fired',
          s.firedAt === null ? 'never' : utc(s.firedAt),
        ];
      }),
      align: ['left', 'left', 'right', 'left', 'left'],
    },
    text: 'armed: fires when the condition holds; fired: waits until the value is back past the re-arm margin. /alert remove <id> deletes one.',
    severity: 'info',
  };
}

async function remove(ctx: CommandContext, inv: Invocation, raw: string | undefined): Promise<Reply> {
  const m = /^r?(\d{1,9})$/i.exec(raw?.trim() ?? '');
  if (!m) throw new UserError('bad_rule_id', `Which rule? Give its id as /alert list shows it, e.g. /alert remove r1.`);
  const id = `r${Number(m[1])}`;
  const dest = destinationOf(inv);
  const gone = await ctx.rules.remove(dest, id);
  if (!gone) {
    const ids = (await ctx.rules.list(dest)).map((r) => r.id);
    throw new UserError('unknown_rule', `This chat has no rule ${id}.${ids.length ? ` Its rules: ${ids.join(', ')}.` : ' It has no rules.'}`);
  }
  await ctx.audit.append({ ts: ctx.now(), ...causeOf(personOf(inv)), action: 'alert.rule_removed', subject: id, detail: `${gone.text} in ${dest.platform}:${dest.chatId}` });
  return { text: `Alert rule ${id} removed: ${gone.text}`, severity: 'success' };
}

/**
 * `/alert add|list|remove`: this chat's own alert rules. Anyone who may read may keep rules in a chat that may
 * receive alerts (the /subscribe rule); each firing goes to this chat only.
 */
export default defineCommand({
  name: 'alert',
  description: 'Alert rules of this chat: add funding/price/buffer/oi rules, list them, remove one',
  role: 'viewer',
  sideEffect: 'none',
  options: [
    { name: 'action', description: 'add, list or remove', type: 'string', required: true, choices: ['add', 'list', 'remove'] },
    { name: 'rule', description: 'add: the rule, e.g. "price ETH-PERP < 3000"; remove: its id, e.g. r2', type: 'string', maxLength: 200 },
  ],
  async run(ctx, args, inv) {
    if (!(await mayReceiveAlerts(ctx, inv))) refuseChat(inv);
    if (args.action === 'add') return add(ctx, inv, args.rule);
    if (args.action === 'remove') return remove(ctx, inv, args.rule);
    return list(ctx, inv);
  },
});
