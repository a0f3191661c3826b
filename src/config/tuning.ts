/** Thresholds and windows of the jobs; the defaults are domain.md's, tests shorten the time-based ones. */
export interface JobTuning {
  /** Cascade window W (domain.md §7). */
  cascadeWindowMs: number;
  /** Cascade alert cooldown; also how long a symbol stays "in cascade" after its last hot sample. */
  cascadeCooldownMs: number;
  /** Liquidation buffer warning and critical levels (§4: the rule is 10 %; 15 % warns early). */
  bufferWarn: number;
  bufferCritical: number;
  /** A warned position must recover this far above the warning level before the condition counts as cleared. */
  bufferHysteresis: number;
  /** Funding against a position beyond this APR (§8 maxAgainstAnn). */
  maxAgainstAnn: number;
  /** Harvester entry threshold (annualised); exit below half of it. */
  harvesterMinAnn: number;
  /** Relative difference of the legs' quantities that triggers a rebalance. */
  hedgeTolerance: number;
  /** Mirror hedge (long perp + short spot) when funding is strongly negative; needs spot shorting. */
  allowMirror: boolean;
  /** Basis z-score signal window and thresholds (§3). */
  basisWindow: number;
  basisEntryZ: number;
  basisExitZ: number;
  /** OI change over the last hour that counts as a sharp move. */
  oiSharpMove: number;
  /** Funding reminder lead time before a stamp. */
  reminderLeadMs: number;
  /**
   * N of the stale-data watchdog: a symbol's mark, funding or OI with nothing fresh for longer than N cascade-detector
   * intervals (CASCADE_INTERVAL_SECONDS, the period that samples them) is reported stale.
   */
  staleFeedIntervals: number;
}

export const DEFAULT_TUNING: JobTuning = {
  cascadeWindowMs: 300_000,
  cascadeCooldownMs: 600_000,
  bufferWarn: 0.15,
  bufferCritical: 0.10,
  bufferHysteresis: 0.01,
  maxAgainstAnn: 1,
  harvesterMinAnn: 0.5,
  hedgeTolerance: 0.02,
  allowMirror: false,
  basisWindow: 48,
  basisEntryZ: 2,
  // "Back near 0": 0.5 rather than exactly 0 so noise around the mean does not hold a stale signal open.
  basisExitZ: 0.5,
  oiSharpMove: 0.05,
  reminderLeadMs: 15 * 60_000,
  // 5 × 30 s = 2.5 min: past a venue's 429 hold (up to 60 s) and a couple of failed calls, which are not news, yet
  // well inside the 5-minute cascade window, so a detector working on frozen numbers is known before it matters.
  staleFeedIntervals: 5,
};

/**
 * Dead man's switch (issue 18 §2): every process writes a heartbeat this often (and pings HEARTBEAT_URL), and looks
 * at everyone else's. Ten seconds keeps the Redis and HTTP traffic negligible while a dead bot is noticed within
 * about half a minute.
 */
export const HEARTBEAT_EVERY_MS = 10_000;
/** A process, or a job scheduler, silent for this many of its own intervals is reported (once). */
export const SILENT_INTERVALS = 3;
/** A HEARTBEAT_URL ping that takes longer is abandoned (and logged, without the URL); the next beat tries again. */
export const HEARTBEAT_PING_TIMEOUT_MS = 5_000;
