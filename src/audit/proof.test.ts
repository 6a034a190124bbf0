import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sharedFixture } from '../../test/support/fixtures.js';
import { PalisadeError } from '../errors/index.js';
import {
  CompactRange,
  EMPTY_ROOT,
  foldRange,
  leafHash,
  nodeHash,
  perfectSubtrees,
  rootOf,
} from './merkle.js';
import {
  consistencyRanges,
  inclusionRanges,
  verifyConsistency,
  verifyInclusion,
  type LeafRange,
} from './proof.js';

const fixtures = sharedFixture('merkle');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? jsonFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/**
 * Reads a probe keeping its integers exact: a few hold u64 values (2^64 - 1) that a JSON double would
 * round, so integer literals are turned into strings before parsing and then into bigint.
 */
function readProbe(file: string): Record<string, unknown> {
  const text = readFileSync(file, 'utf8').replace(/("[A-Za-z0-9]+"\s*:\s*)(\d+)/g, '$1"$2"');
  return JSON.parse(text) as Record<string, unknown>;
}

const big = (v: unknown) => BigInt(v as string);
const bytes = (v: unknown) => Buffer.from(v as string, 'base64');
const proofOf = (v: unknown) => (v === null ? null : (v as string[]).map((p) => Buffer.from(p, 'base64')));

function outcome(fn: () => void): 'ok' | 'rejected' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof PalisadeError, `a typed rejection, got ${String(err)}`);
    assert.equal(err.code, 'MERKLE_PROOF_INVALID');
    return 'rejected';
  }
}

describe('RFC 6962/9162 golden vectors (transparency-dev/merkle testdata)', { skip: fixtures.skip }, () => {
  it('inclusion: every positive and negative probe gets the expected verdict', () => {
    const files = jsonFiles(path.join(fixtures.dir, 'inclusion'));
    assert.equal(files.length, 98, 'all inclusion probes present');
    let positives = 0;
    for (const file of files) {
      const p = readProbe(file);
      const got = outcome(() =>
        verifyInclusion(big(p.leafIdx), big(p.treeSize), bytes(p.leafHash), proofOf(p.proof), bytes(p.root)),
      );
      assert.equal(got, p.wantErr ? 'rejected' : 'ok', path.relative(fixtures.dir, file));
      if (!p.wantErr) positives++;
    }
    assert.equal(positives, 6, 'five happy paths and the single-entry match');
  });

  it('consistency: every positive and negative probe gets the expected verdict', () => {
    const files = jsonFiles(path.join(fixtures.dir, 'consistency'));
    assert.equal(files.length, 98, 'all consistency probes present');
    let positives = 0;
    for (const file of files) {
      const p = readProbe(file);
      const got = outcome(() =>
        verifyConsistency(big(p.size1), big(p.size2), bytes(p.root1), bytes(p.root2), proofOf(p.proof)),
      );
      assert.equal(got, p.wantErr ? 'rejected' : 'ok', path.relative(fixtures.dir, file));
      if (!p.wantErr) positives++;
    }
    assert.equal(positives, 6, 'five happy paths and equal sizes with an empty proof');
  });

  it('our own proofs over the 8-leaf test tree equal the vectors byte for byte', () => {
    const leaves = [
      '',
      '00',
      '10',
      '2021',
      '3031',
      '40414243',
      '5051525354555657',
      '606162636465666768696a6b6c6d6e6f',
    ];
    const store = new MemoryTree(leaves.map((hex) => leafHash(Buffer.from(hex, 'hex'))));
    for (const folder of ['1', '2', '3', '4']) {
      const p = readProbe(path.join(fixtures.dir, 'inclusion', folder, 'happy-path.json'));
      const proof = store.proof(inclusionRanges(Number(p.leafIdx), Number(p.treeSize)));
      assert.deepEqual(proof, proofOf(p.proof), `inclusion/${folder}`);
      assert.deepEqual(store.root(Number(p.treeSize)), bytes(p.root));
    }
    for (const folder of ['1', '2', '3', '4']) {
      const p = readProbe(path.join(fixtures.dir, 'consistency', folder, 'happy-path.json'));
      const proof = store.proof(consistencyRanges(Number(p.size1), Number(p.size2)));
      assert.deepEqual(proof, proofOf(p.proof), `consistency/${folder}`);
    }
  });
});

/** All complete nodes of a tree in memory, the way the database stores them. */
class MemoryTree {
  readonly nodes = new Map<string, Buffer>();
  constructor(readonly leaves: Buffer[]) {
    const range = new CompactRange();
    for (const leaf of leaves)
      range.append(leaf, (level, index, h) => this.nodes.set(`${level}/${index}`, h));
  }
  rangeHash([start, end]: LeafRange): Buffer {
    return foldRange(perfectSubtrees(start, end).map((n) => this.nodes.get(`${n.level}/${n.index}`)!));
  }
  proof(ranges: LeafRange[]): Buffer[] {
    return ranges.map((r) => this.rangeHash(r));
  }
  root(size: number): Buffer {
    return this.rangeHash([0, size]);
  }
}

function treeOf(size: number): MemoryTree {
  return new MemoryTree(Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`leaf ${i}`))));
}

describe('Merkle tree and proofs (generated)', () => {
  it('the compact range root equals the RFC 6962 recursive definition', () => {
    const mth = (hashes: Buffer[]): Buffer => {
      if (hashes.length === 0) return EMPTY_ROOT;
      if (hashes.length === 1) return hashes[0]!;
      let k = 1;
      while (k * 2 < hashes.length) k *= 2;
      return nodeHash(mth(hashes.slice(0, k)), mth(hashes.slice(k)));
    };
    for (let size = 0; size <= 70; size++) {
      const tree = treeOf(size);
      assert.deepEqual(rootOf(tree.leaves), mth(tree.leaves), `size ${size}`);
      assert.deepEqual(tree.root(size), mth(tree.leaves), `stored nodes, size ${size}`);
    }
  });

  it('inclusion proofs from stored nodes verify, and fail for another leaf, index or depth', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), (size, pick) => {
        const tree = treeOf(size);
        const index = pick % size;
        const proof = tree.proof(inclusionRanges(index, size));
        const root = tree.root(size);
        verifyInclusion(index, size, tree.leaves[index]!, proof, root);
        assert.equal(
          outcome(() => verifyInclusion(index, size, leafHash(Buffer.from('forged')), proof, root)),
          'rejected',
        );
        if (size > 1) {
          const other = (index + 1) % size;
          assert.equal(
            outcome(() => verifyInclusion(other, size, tree.leaves[index]!, proof, root)),
            'rejected',
          );
        }
        // A tree twice the size is one level deeper: the same path cannot reach its root.
        assert.equal(
          outcome(() => verifyInclusion(index, size * 2, tree.leaves[index]!, proof, root)),
          'rejected',
        );
      }),
      { numRuns: 200 },
    );
  });

  it('consistency proofs from stored nodes verify, and fail against a tree that rewrote history', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 300 }), (size1, extra) => {
        const size2 = size1 + extra;
        const tree = treeOf(size2);
        const proof = tree.proof(consistencyRanges(size1, size2));
        verifyConsistency(size1, size2, tree.root(size1), tree.root(size2), proof);
        // The same sizes, but leaf 0 rewritten: the old root no longer fits.
        const forged = new MemoryTree([leafHash(Buffer.from('rewritten')), ...tree.leaves.slice(1)]);
        const forgedProof = forged.proof(consistencyRanges(size1, size2));
        if (size1 < size2) {
          assert.equal(
            outcome(() => verifyConsistency(size1, size2, tree.root(size1), forged.root(size2), forgedProof)),
            'rejected',
          );
        }
      }),
      { numRuns: 200 },
    );
  });

  it('hostile proof input is rejected with a typed error, never a crash', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -5n, max: 2n ** 65n }),
        fc.bigInt({ min: -5n, max: 2n ** 65n }),
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 70 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        (a, b, proof, h1, h2) => {
          outcome(() => verifyInclusion(a, b, h1, proof, h2));
          outcome(() => verifyConsistency(a, b, h1, h2, proof));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses to plan proofs that do not exist', () => {
    assert.throws(() => inclusionRanges(5, 5), { code: 'MERKLE_PROOF_UNAVAILABLE' });
    assert.throws(() => consistencyRanges(0, 5), { code: 'MERKLE_PROOF_UNAVAILABLE' });
    assert.throws(() => consistencyRanges(6, 5), { code: 'MERKLE_PROOF_UNAVAILABLE' });
    assert.deepEqual(consistencyRanges(5, 5), []);
  });
});
