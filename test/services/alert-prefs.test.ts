import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { describeModes, parseNotify, parseVenues, withModes } from '../../src/services/alerts/prefs.js';
import {
  ALERT_KINDS, DEFAULT_MODES, DEFAULT_PREFS, DestPrefs, deliveryOf, modeOf, type Alert, type AlertKind,
} from '../../src/services/alerts/types.js';

function alert(kind: AlertKind, extra: Partial<Alert> = {}): Alert {
  return { key: 'k', kind, severity: 'warning', symbol: 'BTC-PERP', title: 't', at: 1, ...extra };
}

function userError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a UserError');
}

describe('notification modes', () => {
  it('rings risk and cascades, keeps fills, harvester decisions and the summary silent, and basis / OI off by default', () => {
    const by = (m: string) => ALERT_KINDS.filter((k) => modeOf(DEFAULT_PREFS, k) === m);
    expect(by('on')).toEqual(['cascade', 'liquidation_risk', 'leverage', 'funding_against', 'trading', 'rule', 'position', 'stale', 'heartbeat', 'signal']);
    expect(by('silent')).toEqual(['funding_reminder', 'harvester', 'order', 'summary']);
    expect(by('off')).toEqual(['basis', 'oi']);
  });

  it('reads kinds and groups left to right and leaves trading out of a group', () => {
    expect(parseNotify('risk=silent, leverage=on order=OFF')).toEqual({ liquidation_risk: 'silent', leverage: 'on', funding_against: 'silent', order: 'off' });
    const all = parseNotify('all=off,cascade=on');
    expect(all.trading).toBeUndefined();
    expect(all.cascade).toBe('on');
    expect(Object.keys(all)).toHaveLength(ALERT_KINDS.length - 1);
    expect(parseNotify('funding-against=silent')).toEqual({ funding_against: 'silent' });
    expect(parseNotify('trading=on')).toEqual({});
  });

  it.each([
    ['order=loud', /notify: "loud" is not a mode; use on, silent or off\. Example: notify:risk=on/],
    ['fills=on', /unknown alert kind "fills"; use cascade, .*risk \(liquidation_risk, leverage, funding_against\)/],
    ['trading=silent', /trading \(paused \/ resumed\) always rings/],
    ['order', /"order" is not kind=value/],
    [' , ', /expected kind=value entries/],
  ])('refuses notify %j with a message that says what would be right', (text, why) => {
    expect(userError(() => parseNotify(text))).toMatch(why);
  });

  it('stores only the modes that differ from the defaults', () => {
    const modes = withModes({ order: 'on', cascade: 'silent' }, { order: 'silent', basis: 'on' });
    expect(modes).toEqual({ cascade: 'silent', basis: 'on' });
    expect(describeModes({ ...DEFAULT_PREFS, modes })).toMatchObject({ silent: expect.stringContaining('cascade*'), on: expect.stringContaining('basis*') });
  });

  it('delivers by mode, lets a critical alert ring in a silent kind, and always delivers trading', () => {
    const prefs: DestPrefs = { ...DEFAULT_PREFS, minSeverity: 'critical', symbols: ['ETH-PERP'], modes: { harvester: 'silent', cascade: 'off' } };
    expect(deliveryOf(DEFAULT_PREFS, alert('order'))).toBe('silent');
    expect(deliveryOf(DEFAULT_PREFS, alert('cascade'))).toBe('on');
    expect(deliveryOf(DEFAULT_PREFS, alert('basis'))).toBeNull();
    expect(deliveryOf(prefs, alert('harvester', { symbol: 'ETH-PERP', severity: 'critical' }))).toBe('on');
    expect(deliveryOf(prefs, alert('harvester', { symbol: 'ETH-PERP', severity: 'warning' }))).toBeNull(); // below critical
    expect(deliveryOf(prefs, alert('cascade', { symbol: 'ETH-PERP', severity: 'critical' }))).toBeNull();
    expect(deliveryOf(prefs, alert('trading', { severity: 'info' }))).toBe('on');
    expect(deliveryOf({ ...DEFAULT_PREFS, modes: { trading: 'off' } }, alert('trading'))).toBe('on'); // even if a record says otherwise
  });
});

describe('venue filter', () => {
  const choices = { marketVenues: ['binanceusdm', 'bybit'], exchange: 'paper' };

  it('reads venue ids, the desk by either name, and all', () => {
    expect(parseVenues('bybit, desk', choices)).toEqual(['bybit', 'desk']);
    expect(parseVenues('paper BYBIT', choices)).toEqual(['desk', 'bybit']);
    expect(parseVenues('All', choices)).toBeNull();
  });

  it('refuses a venue that is not configured, naming the ones that are', () => {
    expect(userError(() => parseVenues('bybit,okx', choices))).toBe('venues: unknown venue "okx"; use desk (paper, the desk\'s own exchange), binanceusdm, bybit, or all.');
    expect(userError(() => parseVenues(',', choices))).toMatch(/name at least one venue/);
  });

  it('filters alerts about a market by venue (absent venue = the desk) and passes alerts about no market', () => {
    const prefs: DestPrefs = { ...DEFAULT_PREFS, venues: ['bybit'] };
    expect(deliveryOf(prefs, alert('liquidation_risk', { venue: 'bybit' }))).toBe('on');
    expect(deliveryOf(prefs, alert('liquidation_risk', { venue: 'okx' }))).toBeNull();
    expect(deliveryOf(prefs, alert('liquidation_risk'))).toBeNull();
    expect(deliveryOf(prefs, alert('heartbeat', { symbol: undefined }))).toBe('on');
    expect(deliveryOf({ ...DEFAULT_PREFS, venues: ['desk'] }, alert('order', { severity: 'info' }))).toBe('silent');
  });
});

describe('stored preferences', () => {
  it('reads a record from before per-kind modes: its signals become modes, venues all', () => {
    expect(DestPrefs.parse({ symbols: ['BTC-PERP'], minSeverity: 'warning', signals: ['oi'] })).toEqual({
      symbols: ['BTC-PERP'], minSeverity: 'warning', modes: { oi: 'on' }, venues: null,
    });
    expect(DestPrefs.parse({ symbols: null, minSeverity: 'info', signals: [] })).toEqual(DEFAULT_PREFS);
  });

  it('prefers modes over the legacy signals a newer record also carries', () => {
    expect(DestPrefs.parse({ symbols: null, minSeverity: 'info', signals: ['basis'], modes: { basis: 'silent' }, venues: ['desk'] }).modes).toEqual({ basis: 'silent' });
  });
});

describe('README', () => {
  it('shows the default mode of every kind as DEFAULT_MODES has it', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const k of ALERT_KINDS) {
      const row = new RegExp(`^\\| \`${k}\` \\|[^\\n]*\\| \`${DEFAULT_MODES[k]}\` \\|`, 'm');
      expect(readme, `README defaults row of ${k}`).toMatch(row);
    }
  });
});
