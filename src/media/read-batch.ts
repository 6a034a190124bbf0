/**
 * A shared clock for batched socket reads. A session that stops reading after a read defers its
 * resume here; every session deferred to the same interval resumes on the same tick, so the process
 * wakes once per interval to read all of its cameras instead of once per packet burst of each.
 * The ticks sit on a wall-clock grid (multiples of the interval), which keeps sessions that started
 * at different times in step.
 */
export class ReadBatch {
  static readonly #clocks = new Map<number, ReadBatch>();

  /** The process-wide batch for this interval. */
  static every(intervalMs: number): ReadBatch {
    let batch = ReadBatch.#clocks.get(intervalMs);
    if (batch === undefined) {
      batch = new ReadBatch(intervalMs);
      ReadBatch.#clocks.set(intervalMs, batch);
    }
    return batch;
  }

  #waiting: (() => void)[] = [];
  #armed = false;

  private constructor(readonly intervalMs: number) {}

  /** Runs `resume` on the next tick. The timer runs only while someone waits. */
  defer(resume: () => void): void {
    this.#waiting.push(resume);
    if (this.#armed) return;
    this.#armed = true;
    setTimeout(() => this.#tick(), this.intervalMs - (Date.now() % this.intervalMs));
  }

  #tick(): void {
    this.#armed = false;
    const due = this.#waiting;
    this.#waiting = [];
    for (const resume of due) resume();
  }
}
