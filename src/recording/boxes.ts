/**
 * The little of ISO BMFF that recording needs itself: `free` boxes to pad fragments to a chunk
 * boundary, and walking top-level boxes to find where the last complete fragment of an interrupted
 * segment ends. Everything else is media/'s fMP4 reader.
 */

const FREE = Buffer.from('free', 'latin1');

/** A `free` box of exactly `size` bytes (at least 8). Players and ffprobe skip it. */
export function freeBox(size: number, zeros: Buffer): Buffer[] {
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(size, 0);
  FREE.copy(head, 4);
  const out: Buffer[] = [head];
  let left = size - 8;
  while (left > 0) {
    const n = Math.min(left, zeros.length);
    out.push(zeros.subarray(0, n));
    left -= n;
  }
  return out;
}

/** Padding that brings `offset` to a multiple of `chunkSize` (0, or at least 8 bytes for a box). */
export function paddingFor(offset: number, chunkSize: number): number {
  const rem = offset % chunkSize;
  if (rem === 0) return 0;
  let pad = chunkSize - rem;
  if (pad < 8) pad += chunkSize;
  return pad;
}

export interface TopLevelBox {
  type: string;
  offset: number;
  end: number;
}

/**
 * The complete top-level boxes at the start of `data`, stopping at the first one that is cut off or
 * malformed (a size below 8, or a 64-bit size beyond what we hold).
 */
export function completeBoxes(data: Buffer): TopLevelBox[] {
  const out: TopLevelBox[] = [];
  let off = 0;
  while (off + 8 <= data.length) {
    let size = data.readUInt32BE(off);
    const type = data.toString('latin1', off + 4, off + 8);
    if (size === 1) {
      if (off + 16 > data.length) break;
      const big = data.readBigUInt64BE(off + 8);
      if (big > BigInt(data.length)) break;
      size = Number(big);
    }
    if (size < 8 || off + size > data.length) break;
    out.push({ type, offset: off, end: off + size });
    off += size;
  }
  return out;
}

/**
 * Where an interrupted segment can end: the largest multiple of `chunkSize` that is the end of a
 * top-level box, after `ftyp`, `moov` and at least one complete `moof`+`mdat` pair. 0 when there is
 * no such point (nothing worth keeping).
 */
export function recoverableEnd(data: Buffer, chunkSize: number): number {
  const boxes = completeBoxes(data);
  if (boxes[0]?.type !== 'ftyp' || boxes[1]?.type !== 'moov') return 0;
  let best = 0;
  let fragments = 0;
  let openMoof = false;
  for (const b of boxes.slice(2)) {
    if (b.type === 'moof') {
      openMoof = true;
      continue;
    }
    if (b.type === 'mdat' && openMoof) {
      openMoof = false;
      fragments++;
    }
    if (!openMoof && fragments > 0 && b.end % chunkSize === 0) best = b.end;
  }
  return best;
}
