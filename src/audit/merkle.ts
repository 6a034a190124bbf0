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

/** A node of the tree that covers a complete power-of-two subtree: leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  level: number;
  index: number;
}

/** Called for every complete node a tree gains, the leaf itself (level 0) first. */
export type NodeSink = (level: number, index: number, hash: Buffer) => void;

/**
 * The right edge of a tree: the roots of its maximal complete subtrees, largest first (one per set bit
 * of the size). Appending a leaf merges equal-sized subtrees, so a tree of any size is summarised in at
 * most 64 hashes and the root is always one fold away. Sizes stay exact up to 2^53 (JS numbers); the
 * arithmetic avoids 32-bit bit operators for that reason.
 */
export class CompactRange {
  #size: number;
  #hashes: Buffer[];

  constructor(size = 0, hashes: Buffer[] = []) {
    if (hashes.length !== popcount(size)) {
      throw new RangeError(
        `a tree of size ${size} needs ${popcount(size)} edge hashes, got ${hashes.length}`,
      );
    }
    this.#size = size;
    this.#hashes = hashes;
  }

  get size(): number {
    return this.#size;
  }

  /** The edge hashes, largest subtree first (the nodes `edgeNodes(size)` names). */
  get hashes(): readonly Buffer[] {
    return this.#hashes;
  }

  append(leaf: Buffer, sink?: NodeSink): void {
    let index = this.#size;
    let level = 0;
    let current = leaf;
    sink?.(0, index, current);
    while (index % 2 === 1) {
      current = nodeHash(this.#hashes.pop()!, current);
      level++;
      index = (index - 1) / 2;
      sink?.(level, index, current);
    }
    this.#hashes.push(current);
    this.#size++;
  }

  root(): Buffer {
    const edge = this.#hashes;
    if (edge.length === 0) return EMPTY_ROOT;
    let root = edge[edge.length - 1]!;
    for (let i = edge.length - 2; i >= 0; i--) root = nodeHash(edge[i]!, root);
    return root;
  }

  clone(): CompactRange {
    return new CompactRange(this.#size, [...this.#hashes]);
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
