/**
 * The reason a batch's signal gives when the batch nears its jobs' expiry: stop starting calls, and
 * let the ones in flight finish inside the margin left for them. Any other reason (a job's claim
 * lost, the worker stopping) aborts the calls in flight too.
 */
export class BatchDeadline extends Error {
  override readonly name = 'BatchDeadline';
  constructor() {
    super('the batch nears its expiry');
  }
}
