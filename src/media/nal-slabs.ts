/**
 * Where a depacketizer keeps the NAL units it reassembles: copied out of the receive buffer (which
 * the socket reuses for its next read) into slabs, large buffers filled front to back. An access unit
 * is a few views into the current slab.
 *
 * With `recycle`, a slab is used again once every access unit with a NAL unit in it was released
 * (`AccessUnit.release`), so a camera that streams steadily allocates nothing: its two slabs take
 * turns. Without it, or when a consumer never releases, a full slab is simply left to the garbage
 * collector, which frees it once no view of it remains. Releasing early is the one way to misuse
 * this: the bytes would be overwritten while still in use, so only a consumer that has copied
 * them (the recorder's fragmenter) releases.
 */

/** The smallest slab: about 1.5 s of a 1 Mbit/s stream, a dozen P-frames of a 4 Mbit/s one. */
const MIN_SLAB_BYTES = 128 * 1024;
/**
 * Room beyond the largest NAL unit seen: a slab always fits a key frame plus a few P-frames, so a key
 * frame is moved to a fresh slab at most once, without doubling every camera's memory.
 */
const HEADROOM_BYTES = 64 * 1024;
/** Slabs grow no larger: a bigger NAL unit (a hostile camera's) gets a one-off slab of its own. */
const MAX_SLAB_BYTES = 2 * 1024 * 1024;
/** Free slabs kept for reuse: with prompt releases one is enough (the other is being filled). */
const KEEP_FREE = 1;

interface Slab {
  buf: Buffer;
  used: number;
  /** NAL units in this slab whose access unit has not been released yet. */
  holds: number;
}

const NOTHING_TO_RELEASE = (): void => undefined;

export class NalSlabs {
  #slab: Slab;
  #free: Slab[] = [];
  #slabBytes = MIN_SLAB_BYTES;
  /** Start of the NAL unit being assembled in the current slab; -1 when none is. */
  #start = -1;
  /** One entry per finished NAL unit of the access unit being assembled. */
  #unit: Slab[] = [];

  constructor(private readonly recycle: boolean) {
    this.#slab = this.#newSlab(this.#slabBytes);
  }

  /** The size of a new slab: the largest NAL unit seen plus 64 KiB, within 128 KiB to 2 MiB. */
  get slabBytes(): number {
    return this.#slabBytes;
  }

  /** Starts a NAL unit; one left unfinished is dropped. */
  begin(): void {
    this.#start = this.#slab.used;
  }

  /** Appends `src[start, end)` to the NAL unit begun last. */
  append(src: Buffer, start = 0, end = src.length): void {
    const length = end - start;
    let slab = this.#slab;
    if (slab.used + length > slab.buf.length) slab = this.#moveOpenNal(length);
    src.copy(slab.buf, slab.used, start, end);
    slab.used += length;
  }

  /** Finishes the NAL unit begun last and returns it: a view that stays valid until its access unit is released. */
  end(): Buffer {
    const slab = this.#slab;
    const nal = slab.buf.subarray(this.#start, slab.used);
    this.#start = -1;
    slab.holds++;
    this.#unit.push(slab);
    const wanted = Math.min(MAX_SLAB_BYTES, nal.length + HEADROOM_BYTES);
    if (wanted > this.#slabBytes) this.#slabBytes = wanted;
    return nal;
  }

  /** `begin`, `append` and `end` in one: a NAL unit that arrived whole, `src[start, end)`. */
  copy(src: Buffer, start = 0, end = src.length): Buffer {
    this.begin();
    this.append(src, start, end);
    return this.end();
  }

  /** Drops the NAL unit being assembled (its fragments were lost); its bytes are reused. */
  abandon(): void {
    if (this.#start >= 0) this.#slab.used = this.#start;
    this.#start = -1;
  }

  /**
   * Closes the access unit made of the NAL units finished since the last call. Returns what releases
   * it: calling it says no view of those NAL units will be read again. Idempotent.
   */
  seal(): () => void {
    const slabs = this.#unit;
    if (slabs.length === 0) return NOTHING_TO_RELEASE;
    this.#unit = [];
    if (!this.recycle) return NOTHING_TO_RELEASE;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const slab of slabs) {
        slab.holds--;
        if (slab.holds === 0 && slab !== this.#slab) this.#reuse(slab);
      }
    };
  }

  /** The current slab is too full for the NAL unit being assembled: carry its start over to a fresh slab. */
  #moveOpenNal(adding: number): Slab {
    const old = this.#slab;
    const start = this.#start < 0 ? old.used : this.#start;
    const carried = old.used - start;
    const next = this.#take(carried + adding);
    old.buf.copy(next.buf, 0, start, old.used);
    next.used = carried;
    old.used = start;
    this.#slab = next;
    if (this.#start >= 0) this.#start = 0;
    if (old.holds === 0) this.#reuse(old);
    return next;
  }

  #take(need: number): Slab {
    const size = Math.max(need, this.#slabBytes);
    const free = this.#free.pop();
    if (free !== undefined && free.buf.length >= size) return free;
    return this.#newSlab(size);
  }

  #reuse(slab: Slab): void {
    if (!this.recycle || this.#free.length >= KEEP_FREE || slab.buf.length !== this.#slabBytes) return;
    slab.used = 0;
    this.#free.push(slab);
  }

  #newSlab(size: number): Slab {
    // Outside Node's shared pool: a slab is large and has a lifetime of its own.
    return { buf: Buffer.allocUnsafeSlow(size), used: 0, holds: 0 };
  }
}
