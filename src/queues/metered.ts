/**
 * Job metrics for the BullMQ workers: every run's outcome and time by queue and job name (src/metrics), and the
 * worker option that makes BullMQ keep its own completed/failed counts, which its Prometheus export reads.
 */
import { DelayedError, MetricsTime, type Processor, type WorkerOptions } from 'bullmq';
import { jobDuration, jobRunsTotal, type JobOutcome } from '../metrics/registry.js';

/**
 * Without it BullMQ's `bullmq_job_completed_total` and `bullmq_job_failed_total` stay 0: the counts (and a week of
 * per-minute points, a few hundred kB per queue) are written only by workers that ask for them.
 */
export const WORKER_METRICS: WorkerOptions['metrics'] = { maxDataPoints: MetricsTime.ONE_WEEK };

/**
 * Runs `processor`, counting the run. A market job that found its previous run still holding the job lock returns
 * a string starting with `skipped` (src/queues/workers.ts); a job that parks itself for later (alert delivery)
 * throws DelayedError: neither is a failure.
 */
export function metered(queue: string, processor: Processor): Processor {
  return async (job, token, signal) => {
    const end = jobDuration.startTimer({ queue, job: job.name });
    let outcome: JobOutcome = 'failed';
    try {
      const result: unknown = await processor(job, token, signal);
      outcome = typeof result === 'string' && result.startsWith('skipped') ? 'skipped' : 'completed';
      return result;
    } catch (e) {
      if (e instanceof DelayedError) outcome = 'delayed';
      throw e;
    } finally {
      end();
      jobRunsTotal.inc({ queue, job: job.name, outcome });
    }
  };
}
