/**
 * The one list of commands and buttons. Help, Discord registration, Telegram setMyCommands and console parsing all
 * read it; adding a command means importing it here and nowhere else.
 */
import type { ButtonDef, CommandDef } from './define.js';
import funding from './funding.js';
import positions from './positions.js';
import oi from './oi.js';
import basis from './basis.js';
import risk from './risk.js';
import status from './status.js';
import help from './help.js';
import order from './order.js';
import close from './close.js';
import pause from './pause.js';
import resume from './resume.js';
import audit from './audit.js';
import approvals from './approvals.js';
import approvalButtons from './approval-buttons.js';
import backtest from './backtest.js';
import harvester, { harvesterButtons } from './harvester.js';
import subscribe from './subscribe.js';
import unsubscribe from './unsubscribe.js';
import paper from './paper.js';
import ackButton from './ack-button.js';
import alert from './alert.js';
import spread from './spread.js';
import orders from './orders.js';
import cancel from './cancel.js';
import flatten, { flattenButtons } from './flatten.js';
import pnl from './pnl.js';

export const commands: readonly CommandDef[] = [funding, spread, positions, oi, basis, order, close, orders, cancel, flatten, risk, pause, resume, audit, approvals, backtest, pnl, harvester, subscribe, unsubscribe, alert, paper, status, help] as unknown as readonly CommandDef[];

export const buttons: readonly ButtonDef[] = [...approvalButtons, ...harvesterButtons, ...flattenButtons, ackButton];

export { dispatch, dispatchButton } from './dispatch.js';
export { parseCommandText } from './text.js';
