/**
 * Where a depacketizer keeps the NAL units it reassembles: copied out of the receive buffer (which
 * the socket reuses for its next read) into slabs, large buffers filled front to back. An access unit
 * is a few views into the current slab.
 *
 * With `recycle`, a slab is used again once every access unit with a NAL unit in it was released
 * (`AccessUnit.release`), so a camera that streams steadily allocates nothing: it fills its current
 * slab, hands the previous one back to a pool shared by every session (FreeSlabs) once released,
 * and takes its next one from there. Without it, or when a consumer never releases, a full slab is simply left to the garbage
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
/** Slab sizes are multiples of this, so cameras of similar bitrates can use each other's slabs. */
const SLAB_GRANULE = 64 * 1024;
/** Free slabs the shared pool keeps, in bytes: a few cameras' worth of hand-overs in flight. */
const MAX_FREE_BYTES = 8 * 1024 * 1024;

interface Slab {
  buf: Buffer;
  used: number;
  /** NAL units in this slab whose access unit has not been released yet. */
  holds: number;
}

const NOTHING_TO_RELEASE = (): void => undefined;

/**
 * Released slabs waiting for a session that needs one. One pool for all cameras, instead of a spare
 * per camera: a camera only ever needs a slab at the moment its current one is full, and by then
 * its previous one (or another camera's) is usually back.
 */
export class FreeSlabs {
  #free: Buffer[] = [];
  #bytes = 0;

  /** The smallest free slab of at least `size` bytes and at most twice that; undefined when none is. */
  take(size: number): Buffer | undefined {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const length = this.#free[i]!.length;
      if (length >= size && length <= 2 * size && (best < 0 || length < this.#free[best]!.length)) best = i;
    }
    if (best < 0) return undefined;
    const buf = this.#free.splice(best, 1)[0]!;
    this.#bytes -= buf.length;
    return buf;
  }

  give(buf: Buffer): void {
    if (this.#bytes + buf.length > MAX_FREE_BYTES) return;
    this.#free.push(buf);
    this.#bytes += buf.length;
  }
}

const SHARED_FREE_SLABS = new FreeSlabs();

export class NalSlabs {
  #slab: Slab;
  #slabBytes = MIN_SLAB_BYTES;
  /** Start of the NAL unit being assembled in the current slab; -1 when none is. */
  #start = -1;
  /** One entry per finished NAL unit of the access unit being assembled. */
  #unit: Slab[] = [];

  constructor(
    private readonly recycle: boolean,
    private readonly pool: FreeSlabs = SHARED_FREE_SLABS,
  ) {
    this.#slab = this.#take(this.#slabBytes);
  }

  /** The size of a new slab: the largest NAL unit seen plus 64 KiB, rounded up to 64 KiB, within 128 KiB to 2 MiB. */
  get slabBytes(): number {
    return this.#slabBytes;
  }

  /** Starts a NAL unit; one left unfinished is dropped. */
  begin(): void {
    this.#start = this.#slab.used;
  }

  /** Appends bytes to the NAL unit begun last. */
  append(src: Buffer): void {
    let slab = this.#slab;
    if (slab.used + src.length > slab.buf.length) slab = this.#moveOpenNal(src.length);
    src.copy(slab.buf, slab.used);
    slab.used += src.length;
  }

  /** Finishes the NAL unit begun last and returns it: a view that stays valid until its access unit is released. */
  end(): Buffer {
    const slab = this.#slab;
    const nal = slab.buf.subarray(this.#start, slab.used);
    this.#start = -1;
    slab.holds++;
    this.#unit.push(slab);
    const wanted = Math.min(
      MAX_SLAB_BYTES,
      Math.ceil((nal.length + HEADROOM_BYTES) / SLAB_GRANULE) * SLAB_GRANULE,
    );
    if (wanted > this.#slabBytes) this.#slabBytes = wanted;
    return nal;
  }

  /** `begin`, `append` and `end` in one: a NAL unit that arrived whole. */
  copy(src: Buffer): Buffer {
    this.begin();
    this.append(src);
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
    // Outside Node's own small-buffer pool: a slab is large and has a lifetime of its own.
    const buf = (this.recycle ? this.pool.take(size) : undefined) ?? Buffer.allocUnsafeSlow(size);
    return { buf, used: 0, holds: 0 };
  }

  /** A slab nobody uses any more: back to the pool (a one-off oversized one is left to the GC). */
  #reuse(slab: Slab): void {
    if (this.recycle && slab.buf.length <= MAX_SLAB_BYTES) this.pool.give(slab.buf);
  }
}
