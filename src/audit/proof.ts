import { PalisadeError } from '../errors/index.js';
import { HASH_SIZE, nodeHash } from './merkle.js';

/**
 * RFC 9162 inclusion and consistency proofs: which subtree hashes a proof consists of (so a log can read
 * them from storage), and the verification algorithms of §2.1.3.2 and §2.1.4.2. Verification takes
 * sizes and indices as bigint or number: proofs can come from anyone, and u64 values beyond 2^53 must be
 * judged exactly rather than rounded.
 */

/** A leaf range [start, end); every proof element is the Merkle tree hash of one such range. */
export type LeafRange = readonly [start: number, end: number];

/** RFC 9162 §2.1.3.1 PATH(m, D[n]): the ranges whose hashes form the inclusion proof, leaf level first. */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new PalisadeError('MERKLE_PROOF_UNAVAILABLE', `no leaf ${index} in a tree of size ${size}`, {
      status: 400,
    });
  }
  const ranges: LeafRange[] = [];
  // Walk down from the root, remembering the sibling at each split; reversing gives leaf-first order.
  let start = 0;
  let n = size;
  let m = index;
  while (n > 1) {
    const k = largestPowerOfTwoBelow(n);
    if (m < k) {
      ranges.push([start + k, start + n]);
      n = k;
    } else {
      ranges.push([start, start + k]);
      start += k;
      m -= k;
      n -= k;
    }
  }
  return ranges.reverse();
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]): the ranges of the consistency proof from size m to size n. */
export function consistencyRanges(size1: number, size2: number): LeafRange[] {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size1 > size2) {
    throw new PalisadeError(
      'MERKLE_PROOF_UNAVAILABLE',
      `no consistency proof from size ${size1} to size ${size2} (need 0 < size1 <= size2)`,
      { status: 400 },
    );
  }
  const ranges: LeafRange[] = [];
  // SUBPROOF(m, D[start:start+n], b), unrolled: each step descends into one half.
  let start = 0;
  let n = size2;
  let m = size1;
  let complete = true;
  while (m !== n) {
    const k = largestPowerOfTwoBelow(n);
    if (m <= k) {
      ranges.push([start + k, start + n]);
      n = k;
    } else {
      ranges.push([start, start + k]);
      start += k;
      m -= k;
      n -= k;
      complete = false;
    }
  }
  if (!complete) ranges.push([start, start + n]);
  return ranges.reverse();
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function invalid(reason: string): PalisadeError {
  return new PalisadeError('MERKLE_PROOF_INVALID', reason, { status: 422 });
}

type Size = bigint | number;

function u64(value: Size, name: string): bigint {
  const v = typeof value === 'bigint' ? value : Number.isSafeInteger(value) ? BigInt(value) : -1n;
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw invalid(`${name} must be an unsigned 64-bit integer`);
  return v;
}

function checkHash(value: Uint8Array, name: string): void {
  if (value.length !== HASH_SIZE) {
    throw invalid(`${name} is ${value.length} bytes; a SHA-256 hash is ${HASH_SIZE}`);
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * Checks that `leafHash` is leaf `index` of the tree of `size` leaves whose root is `root`
 * (RFC 9162 §2.1.3.2). Throws MERKLE_PROOF_INVALID with the reason when it is not.
 */
export function verifyInclusion(
  index: Size,
  size: Size,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[] | null,
  root: Uint8Array,
): void {
  const m = u64(index, 'leaf index');
  const n = u64(size, 'tree size');
  const path = proof ?? [];
  if (m >= n) throw invalid(`leaf index ${m} is outside a tree of size ${n}`);
  checkHash(leafHash, 'leaf hash');
  checkHash(root, 'root hash');
  path.forEach((p, i) => checkHash(p, `proof[${i}]`));
  const computed = rootFromInclusion(m, n, leafHash, path);
  if (!equal(computed, root)) throw invalid('the proof does not lead to the given root');
}

function rootFromInclusion(m: bigint, n: bigint, leaf: Uint8Array, path: readonly Uint8Array[]): Buffer {
  let fn = m;
  let sn = n - 1n;
  let r: Buffer = Buffer.from(leaf);
  for (const p of path) {
    if (sn === 0n) throw invalid('the proof is longer than the tree is deep');
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw invalid('the proof is shorter than the tree is deep');
  return r;
}

/**
 * Checks that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves with root
 * `root1` (RFC 9162 §2.1.4.2). Conventions shared with the reference verifiers: a proof from the empty
 * tree is meaningless and fails; equal sizes need an empty proof and byte-identical roots.
 */
export function verifyConsistency(
  size1: Size,
  size2: Size,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[] | null,
): void {
  const first = u64(size1, 'size1');
  const second = u64(size2, 'size2');
  const path = proof ?? [];
  if (first > second) throw invalid(`size1 ${first} is larger than size2 ${second}`);
  if (first === 0n) throw invalid('a consistency proof from the empty tree proves nothing');
  if (first === second) {
    if (path.length > 0) throw invalid('trees of equal size need an empty proof');
    if (!equal(root1, root2)) throw invalid('trees of equal size have different roots');
    return;
  }
  if (path.length === 0) throw invalid('the proof is empty');
  checkHash(root1, 'root1');
  checkHash(root2, 'root2');
  path.forEach((p, i) => checkHash(p, `proof[${i}]`));

  // If size1 is a power of two, the old root is itself the first node of the path.
  const nodes = (first & (first - 1n)) === 0n ? [root1, ...path] : [...path];
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr: Buffer = Buffer.from(nodes[0]!);
  let sr: Buffer = Buffer.from(nodes[0]!);
  for (const c of nodes.slice(1)) {
    if (sn === 0n) throw invalid('the proof is longer than the tree is deep');
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw invalid('the proof is shorter than the tree is deep');
  if (!equal(fr, root1)) throw invalid('the proof does not lead to root1');
  if (!equal(sr, root2)) throw invalid('the proof does not lead to root2');
}
