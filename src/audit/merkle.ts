import { hash } from 'node:crypto';

/**
 * RFC 6962 / RFC 9162 Merkle tree hashing with SHA-256. Nothing here knows what a leaf means: the audit
 * log and the video integrity log share it.
 *
 *   leaf hash     = SHA-256(0x00 || leaf bytes)
 *   interior node = SHA-256(0x01 || left || right)
 *   empty tree    = SHA-256("")
 */
export const HASH_SIZE = 32;

export const EMPTY_ROOT: Buffer = hash('sha256', Buffer.alloc(0), 'buffer');

export function leafHash(data: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(data.length + 1);
  input[0] = 0x00;
  input.set(data, 1);
  return hash('sha256', input, 'buffer');
}

// One scratch buffer for interior nodes: crypto.hash copies its input, so reuse is safe and saves an
// allocation per node (half of all hashing in a tree is interior nodes).
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return hash('sha256', nodeInput, 'buffer');
}

/**
 * How a tree combines hashes. Buffers are the natural form; the verifier uses the hash as a 32-character
 * latin1 string instead, because Node returns a digest as a string far more cheaply than as a Buffer,
 * and verifying a large log is mostly digests.
 */
export interface TreeHasher<H> {
  readonly empty: H;
  node(left: H, right: H): H;
}

export const bufferHasher: TreeHasher<Buffer> = { empty: EMPTY_ROOT, node: nodeHash };

const latin1Input = Buffer.alloc(1 + 2 * HASH_SIZE);
latin1Input[0] = 0x01;

export const latin1Hasher: TreeHasher<string> = {
  empty: EMPTY_ROOT.toString('latin1'),
  node(left, right) {
    latin1Input.write(left, 1, 'latin1');
    latin1Input.write(right, 1 + HASH_SIZE, 'latin1');
    return hash('sha256', latin1Input, 'binary');
  },
};

/** A node of the tree that covers a complete power-of-two subtree: leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  level: number;
  index: number;
}

/** Called for every complete node a tree gains, the leaf itself (level 0) first. */
export type NodeSink<H = Buffer> = (level: number, index: number, hash: H) => void;

/**
 * The right edge of a tree: the roots of its maximal complete subtrees, largest first (one per set bit
 * of the size). Appending a leaf merges equal-sized subtrees, so a tree of any size is summarised in at
 * most 64 hashes and the root is always one fold away. Sizes stay exact up to 2^53 (JS numbers); the
 * arithmetic avoids 32-bit bit operators for that reason.
 */
export class CompactRange<H = Buffer> {
  #size: number;
  #hashes: H[];
  readonly #hasher: TreeHasher<H>;

  constructor(size = 0, hashes: H[] = [], hasher: TreeHasher<H> = bufferHasher as unknown as TreeHasher<H>) {
    if (hashes.length !== popcount(size)) {
      throw new RangeError(
        `a tree of size ${size} needs ${popcount(size)} edge hashes, got ${hashes.length}`,
      );
    }
    this.#size = size;
    this.#hashes = hashes;
    this.#hasher = hasher;
  }

  get size(): number {
    return this.#size;
  }

  /** The edge hashes, largest subtree first (the nodes `edgeNodes(size)` names). */
  get hashes(): readonly H[] {
    return this.#hashes;
  }

  append(leaf: H, sink?: NodeSink<H>): void {
    let index = this.#size;
    let level = 0;
    let current = leaf;
    sink?.(0, index, current);
    while (index % 2 === 1) {
      current = this.#hasher.node(this.#hashes.pop() as H, current);
      level++;
      index = (index - 1) / 2;
      sink?.(level, index, current);
    }
    this.#hashes.push(current);
    this.#size++;
  }

  root(): H {
    const edge = this.#hashes;
    if (edge.length === 0) return this.#hasher.empty;
    let root: H = edge[edge.length - 1] as H;
    for (let i = edge.length - 2; i >= 0; i--) root = this.#hasher.node(edge[i] as H, root);
    return root;
  }

  /**
   * Appends a complete subtree of 2^level leaves whose hash is known (it must start exactly at the
   * current size, which must be a multiple of 2^level): how summaries of a later range are merged in.
   */
  appendSubtree(level: number, index: number, hash: H): void {
    const width = 2 ** level;
    if (this.#size % width !== 0 || index * width !== this.#size) {
      throw new RangeError(
        `subtree ${level}/${index} does not start at the end of a tree of size ${this.#size}`,
      );
    }
    let i = index;
    let current = hash;
    while (i % 2 === 1) {
      current = this.#hasher.node(this.#hashes.pop() as H, current);
      i = (i - 1) / 2;
    }
    this.#hashes.push(current);
    this.#size += width;
  }

  clone(): CompactRange<H> {
    return new CompactRange(this.#size, [...this.#hashes], this.#hasher);
  }
}

/** A complete subtree: leaves [index·2^level, (index+1)·2^level). */
export interface Subtree<H> {
  level: number;
  index: number;
  hash: H;
}

/**
 * Summarises the leaves of a range [begin, end) that need not start at 0 as aligned complete subtrees,
 * left to right, so that one thread can hash a slice of a log and another can merge the summary into
 * the whole tree with `CompactRange.appendSubtree`.
 */
export class RangeBuilder<H> {
  #end: number;
  // Parallel arrays rather than objects: this runs once per leaf when verifying millions of entries.
  readonly #levels: number[] = [];
  readonly #indexes: number[] = [];
  readonly #hashes: H[] = [];
  readonly #hasher: TreeHasher<H>;

  constructor(begin: number, hasher: TreeHasher<H>) {
    this.#end = begin;
    this.#hasher = hasher;
  }

  get end(): number {
    return this.#end;
  }

  append(leaf: H): void {
    let level = 0;
    let index = this.#end;
    let hash = leaf;
    let top = this.#levels.length - 1;
    // Merge only with a left sibling inside the range.
    while (index % 2 === 1 && top >= 0 && this.#levels[top] === level && this.#indexes[top] === index - 1) {
      hash = this.#hasher.node(this.#hashes[top] as H, hash);
      this.#levels.pop();
      this.#indexes.pop();
      this.#hashes.pop();
      top--;
      level++;
      index = (index - 1) / 2;
    }
    this.#levels.push(level);
    this.#indexes.push(index);
    this.#hashes.push(hash);
    this.#end++;
  }

  /** The summary so far, left to right. */
  subtrees(): Subtree<H>[] {
    return this.#levels.map((level, i) => ({ level, index: this.#indexes[i]!, hash: this.#hashes[i] as H }));
  }
}

/** The complete nodes whose hashes summarise a tree of `size` leaves (CompactRange order). */
export function edgeNodes(size: number): NodeId[] {
  return perfectSubtrees(0, size);
}

/**
 * Splits the leaf range [start, end) into maximal aligned complete subtrees, left to right. For the
 * ranges RFC 9162 proofs use (a complete subtree, or the right edge of a tree), the range's hash is the
 * right-to-left fold of these nodes.
 */
export function perfectSubtrees(start: number, end: number): NodeId[] {
  const nodes: NodeId[] = [];
  let at = start;
  while (at < end) {
    let level = 0;
    let width = 1;
    while (at % (width * 2) === 0 && at + width * 2 <= end) {
      width *= 2;
      level++;
    }
    nodes.push({ level, index: at / width });
    at += width;
  }
  return nodes;
}

/** Folds the hashes of `perfectSubtrees(start, end)` into the hash of that range. */
export function foldRange(hashes: readonly Buffer[]): Buffer {
  if (hashes.length === 0) return EMPTY_ROOT;
  let h = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) h = nodeHash(hashes[i]!, h);
  return h;
}

/** The root of a list of leaf hashes, computed directly (for tests and small trees). */
export function rootOf(leafHashes: readonly Buffer[]): Buffer {
  const range = new CompactRange();
  for (const h of leafHashes) range.append(h);
  return range.root();
}

function popcount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}
