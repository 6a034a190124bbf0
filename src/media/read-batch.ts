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
 * A tick that read more than this came near what the kernel holds for a paused socket: its initial
 * receive buffer is 128 KiB, of which TCP offers about half as window, so a camera that sends more
 * per tick is held back (autotuning grows the buffer only later, and not on a loaded machine). A
 * 4 Mbit/s camera's key frame does it too (≈ 200 KB in a 100 ms tick).
 */
export const HEAVY_TICK_BYTES = 64 * 1024;
const MIN_BATCH_MS = 5;
/** Light ticks in a row before the interval doubles back. */
const LIGHT_TICKS_TO_RELAX = 4;

/**
 * One session's batch interval. While reading waits, the kernel buffers what the camera sends; once
 * its socket buffer is full the camera is held back. So after a heavy tick (a key frame, a burst, a
 * flood, a high bitrate) the interval halves, down to an eighth of the target. It doubles back
 * after four light ticks in a row, light meaning that a doubled tick would stay under 7/8 of a
 * heavy one (so it does not swing to and fro); four, because during a burst a sender that falls
 * behind for a moment makes a light tick too. Without this a paused 100 ms caps a camera near
 * 5 Mbit/s. A 4 Mbit/s camera is back at the target a few ticks after each key frame: with a way
 * back of "under 16 KiB" it stayed at 50 ms for good (26 KB a tick there).
 */
export class BatchInterval {
  readonly #targetMs: number;
  #ms: number;
  #lightTicks = 0;

  /** `targetMs`: the interval asked for (`readBatchMs`); 0 or less reads at once. */
  constructor(targetMs: number) {
    this.#targetMs = Math.max(0, targetMs);
    this.#ms = this.#targetMs;
  }

  /** The interval in use: shorter than the target while the camera sends more than a tick holds. */
  get ms(): number {
    return this.#ms;
  }

  /** A tick read `bytes`: adapt the interval for the next one. */
  afterTick(bytes: number): void {
    if (this.#targetMs === 0) return;
    const fastest = Math.max(MIN_BATCH_MS, Math.round(this.#targetMs / 8));
    const light = bytes * 16 <= HEAVY_TICK_BYTES * 7;
    this.#lightTicks = light ? this.#lightTicks + 1 : 0;
    if (bytes > HEAVY_TICK_BYTES) this.#ms = Math.max(fastest, Math.round(this.#ms / 2));
    else if (this.#lightTicks >= LIGHT_TICKS_TO_RELAX) {
      this.#ms = Math.min(this.#targetMs, this.#ms * 2);
      this.#lightTicks = 0;
    }
  }
}
