import type { VideoInfo } from '../media/index.js';

/** What a live subscriber receives: an init segment, then fMP4 fragments (moof+mdat) in order. */
export type LiveItem =
  | { kind: 'init'; data: Buffer; video: VideoInfo }
  | {
      kind: 'fragment';
      data: Buffer;
      /** 90 kHz media time of the first sample (the fragment's tfdt). */
      startTime: number;
      duration: number;
      /** Starts with a key frame: a decoder can start here. */
      key: boolean;
      sampleCount: number;
      /** Recorder wall clock of the first sample, ms since the epoch. */
      wallMs: number;
      /** Fragments were skipped before this one (the subscriber fell behind, or the camera reconnected). */
      discontinuity: boolean;
    };

export interface LiveSubscribeOptions {
  /** Most bytes queued for this subscriber; beyond it queued fragments are dropped up to the next key frame. */
  maxBufferedBytes?: number;
  signal?: AbortSignal;
  /** One fragment per frame instead of the recorded (up to `fragmentMs`) fragments: for live viewers. */
  lowLatency?: boolean;
}

export const DEFAULT_LIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * One live viewer of a recording session: an async iterable fed by the session, with bounded
 * buffering. It starts with the current init segment and the next fragment that begins with a key
 * frame; a subscriber that falls behind by more than `maxBufferedBytes` loses what is queued and
 * resumes at the next key frame (flagged `discontinuity`), so a slow viewer never grows memory or
 * slows recording.
 */
export class LiveSubscription implements AsyncIterable<LiveItem> {
  readonly #queue: LiveItem[] = [];
  #bytes = 0;
  readonly #max: number;
  #waitingForKey = true;
  #discontinuity = false;
  #ended = false;
  #wake: (() => void) | undefined;
  /** Fragments dropped because this subscriber was too slow. */
  dropped = 0;

  constructor(
    options: LiveSubscribeOptions,
    private readonly onClose: (s: LiveSubscription) => void,
  ) {
    this.#max = options.maxBufferedBytes ?? DEFAULT_LIVE_BUFFER_BYTES;
    options.signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  get bufferedBytes(): number {
    return this.#bytes;
  }

  /** Called by the session. */
  pushInit(data: Buffer, video: VideoInfo): void {
    if (this.#ended) return;
    // A new init means new parameters: whatever is queued for the old ones is useless.
    this.#drop(false);
    this.#enqueue({ kind: 'init', data, video });
    this.#waitingForKey = true;
  }

  /** Called by the session. */
  pushFragment(f: Omit<Extract<LiveItem, { kind: 'fragment' }>, 'kind' | 'discontinuity'>): void {
    if (this.#ended) return;
    if (this.#waitingForKey) {
      if (!f.key) {
        this.dropped++;
        return;
      }
      this.#waitingForKey = false;
    }
    if (this.#bytes + f.data.length > this.#max) {
      this.#drop(true);
      this.dropped++;
      this.#waitingForKey = true;
      this.#discontinuity = true;
      return;
    }
    this.#enqueue({ kind: 'fragment', ...f, discontinuity: this.#discontinuity });
    this.#discontinuity = false;
  }

  /** The camera reconnected: the timeline restarts after a gap. */
  markDiscontinuity(): void {
    this.#discontinuity = true;
    this.#waitingForKey = true;
  }

  #enqueue(item: LiveItem): void {
    this.#queue.push(item);
    this.#bytes += item.data.length;
    this.#wake?.();
  }

  /** Drops queued fragments (keeping the last init, which later fragments still need). */
  #drop(keepInit: boolean): void {
    let init: LiveItem | undefined;
    for (const i of this.#queue)
      if (i.kind === 'init') init = i;
      else this.dropped++;
    this.#queue.length = 0;
    this.#bytes = 0;
    if (keepInit && init) this.#enqueue(init);
  }

  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#queue.length = 0;
    this.#bytes = 0;
    this.#wake?.();
    this.onClose(this);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LiveItem> {
    try {
      while (true) {
        const next = this.#queue.shift();
        if (next) {
          this.#bytes -= next.data.length;
          yield next;
          continue;
        }
        if (this.#ended) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
      }
    } finally {
      this.close();
    }
  }
}
