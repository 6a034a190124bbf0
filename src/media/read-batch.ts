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

/**
 * A tick that read more than this came near what the kernel holds for a paused socket (its initial
 * receive buffer is 128 KiB, which autotuning grows under load): two in a row mean the camera sends
 * more than the interval can hold. One alone is a key frame (≈ 200 KB at 4 Mbit/s 1080p).
 */
export const HEAVY_TICK_BYTES = 96 * 1024;
const MIN_BATCH_MS = 5;

/**
 * One session's batch interval. While reading waits, the kernel buffers what the camera sends; once
 * its socket buffer is full the camera is held back. So a camera whose ticks are heavy twice in a row
 * (a flood, a huge frame, a high bitrate) is read twice as often, down to an eighth of the target,
 * and goes back up once a doubled interval would hold its ticks with room to spare. Without this a
 * paused 100 ms caps a camera near 16 Mbit/s; with a single heavy tick as the trigger, every key
 * frame of an ordinary camera would halve its interval, and it would rarely come back.
 */
export class BatchInterval {
  readonly #targetMs: number;
  #ms: number;
  #lastHeavy = false;

  /** `targetMs`: the interval asked for (`readBatchMs`); 0 or less reads at once. */
  constructor(targetMs: number) {
    this.#targetMs = Math.max(0, targetMs);
    this.#ms = this.#targetMs;
  }

  /** The interval in use: shorter than the target while the camera sends more than a tick holds. */
  get ms(): number {
    return this.#ms;
  }

  /**
   * A tick read `bytes`: adapt the interval for the next one. Doubling back needs the doubled tick
   * to stay under three quarters of a heavy one, so the interval does not swing to and fro.
   */
  afterTick(bytes: number): void {
    if (this.#targetMs === 0) return;
    const heavy = bytes > HEAVY_TICK_BYTES;
    const fastest = Math.max(MIN_BATCH_MS, Math.round(this.#targetMs / 8));
    if (heavy && this.#lastHeavy) this.#ms = Math.max(fastest, Math.round(this.#ms / 2));
    else if (bytes * 8 <= HEAVY_TICK_BYTES * 3) this.#ms = Math.min(this.#targetMs, this.#ms * 2);
    this.#lastHeavy = heavy;
  }
}
