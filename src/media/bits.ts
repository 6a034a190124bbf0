import { MediaErrorCode, mediaError } from './errors.js';

/**
 * Removes emulation-prevention bytes (00 00 03 -> 00 00) from a NAL unit payload, giving the raw
 * byte sequence payload that SPS/VPS fields are read from (H.264 7.4.1, H.265 7.4.2).
 */
export function unescapeRbsp(nal: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(nal.length);
  let n = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[n++] = byte;
  }
  return out.subarray(0, n);
}

/** MSB-first bit reader with Exp-Golomb codes; reading past the end is a typed error, never garbage. */
export class BitReader {
  private bit = 0;
  constructor(private readonly data: Uint8Array) {}

  get bitsLeft(): number {
    return this.data.length * 8 - this.bit;
  }

  u(n: number): number {
    if (n > 32) throw new RangeError('u(n) reads at most 32 bits');
    if (n > this.bitsLeft) throw truncated();
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.data[this.bit >> 3]!;
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }

  flag(): boolean {
    return this.u(1) === 1;
  }

  skip(n: number): void {
    if (n > this.bitsLeft) throw truncated();
    this.bit += n;
  }

  /** ue(v): unsigned Exp-Golomb. More than 31 leading zeros is not a valid code in any field we read. */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw mediaError(MediaErrorCode.BITSTREAM_INVALID, 'Exp-Golomb code too long');
    }
    return zeros === 0 ? 0 : 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

function truncated() {
  return mediaError(MediaErrorCode.BITSTREAM_INVALID, 'parameter set is truncated');
}
