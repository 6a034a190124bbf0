import type { Keyring } from '../keys/index.js';
import type { BlobStore } from '../storage/index.js';
import { recordingError } from './errors.js';
import type { Segment, SegmentIndex } from './segment-index.js';

/** A segment opened for playback: decrypted, authenticated byte ranges of its fMP4. */
export interface OpenedSegment {
  segment: Segment;
  /** Plaintext (fMP4) size. */
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
  stream(start?: number, end?: number): AsyncGenerator<Buffer>;
  close(): Promise<void>;
}

/**
 * Opens an indexed segment for playback or export: looks it up, opens its blob and its data key,
 * and checks the sealed object's header and final record (a wrong, cut or modified blob fails here
 * with the keys/ SEGMENT_* code). Ranges are decrypted on demand; nothing is written anywhere.
 */
export async function openSegment(
  deps: { keyring: Keyring; store: BlobStore; index: SegmentIndex },
  segmentId: string,
): Promise<OpenedSegment> {
  const segment = await deps.index.get(segmentId);
  if (!segment || segment.state !== 'complete')
    throw recordingError('SEGMENT_NOT_FOUND', `no recorded segment ${segmentId}`);
  const source = await deps.store.open(segment.blobKey);
  try {
    const reader = await deps.keyring.openObject({
      objectId: segment.id,
      cameraId: segment.cameraId,
      source,
    });
    return {
      segment,
      size: reader.size,
      read: (o, l) => reader.read(o, l),
      stream: (s, e) => reader.stream(s, e),
      close: () => source.close(),
    };
  } catch (err) {
    await source.close();
    throw err;
  }
}
