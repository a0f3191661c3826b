/** Public surface of the pure domain library: formulas of shared/docs/domain.md, no I/O, no clock. */
export * from './result.js';
export * from './numbers.js';
export * from './funding.js';
export * from './basis.js';
export * from './liquidation.js';
export * from './sizing.js';
export * from './oi.js';
export * from './cascade.js';
export * from './harvester.js';
export * from './harvester-thresholds.js';
export * from './risk.js';
export * from './exposure.js';
export * from './symbols.js';
export * from './position-changes.js';
export * from './feed-staleness.js';
export * from './venue-spread.js';
export * from './venue-symbols.js';
