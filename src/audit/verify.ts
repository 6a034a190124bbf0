import { PalisadeError, describeError } from '../errors/index.js';
import type { Checkpoint } from './checkpoint.js';
import { CompactRange, EMPTY_ROOT, latin1Hasher, leafHash, type Subtree } from './merkle.js';
import type { TransparencyLog } from './tlog.js';

/**
 * The heart of every verification (an export folder, or the log in the database): recompute the tree
 * from the entries, check it reproduces every signed checkpoint, and name the first entry that is wrong.
 *
 * Each entry comes with the leaf hash the log recorded for it when it was appended. Those recorded
 * hashes are themselves committed by the signed roots, so when the entries fail a checkpoint but the
 * recorded hashes reproduce it, the first entry whose hash differs from its recorded one is exactly the
 * first altered entry. If the recorded hashes were rewritten as well, only the range between two
 * checkpoints can be blamed, and the report says so.
 */
export interface VerifyFailure {
  /** The first bad entry, or null when what is wrong is not an entry (a checkpoint, a missing file). */
  index: number | null;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  log: string;
  origin: string;
  /** The keys checkpoints were checked against, and where they came from. */
  keys: string[];
  keysFrom: 'export' | 'pinned' | 'log';
  /** Entries read and checked. */
  entries: number;
  checkpoints: number;
  /** Size and root of the newest checkpoint verified. */
  treeSize: number;
  rootHash: string;
  against?: { size: number; rootHash: string };
  failure?: VerifyFailure;
}

/**
 * Hashes are handled as 32-character latin1 strings (`buffer.toString('latin1')`): Node hands out a
 * digest as a string much more cheaply than as a Buffer, and a verifier does little else than digests.
 */
export class TreeVerifier {
  readonly #checkpoints: (Checkpoint & { root: string })[];
  #next = 0;
  #tree = new CompactRange<string>(0, [], latin1Hasher);
  /** Tree over the recorded hashes, kept only once an entry disagrees with its recorded hash. */
  #recordedTree: CompactRange<string> | undefined;
  #recordedUsable = true;
  #mismatch: { index: number; actual: string; recorded: string | null } | undefined;
  #lastGood = 0;
  #failure: VerifyFailure | undefined;

  /** `checkpoints` must already be signature-checked; they may come in any order. */
  constructor(checkpoints: readonly Checkpoint[]) {
    this.#checkpoints = checkpoints
      .map((c) => ({ ...c, root: c.rootHash.toString('latin1') }))
      .sort((a, b) => a.size - b.size);
    this.#checkCheckpoints();
  }

  get size(): number {
    return this.#tree.size;
  }

  get failure(): VerifyFailure | undefined {
    return this.#failure;
  }

  root(): Buffer {
    return Buffer.from(this.#tree.root(), 'latin1');
  }

  /**
   * Feeds the next entry: the index it claims, its computed leaf hash and the leaf hash the log recorded
   * (null if none), both as latin1 strings. Returns the failure once one is certain; feed no more after.
   */
  add(index: number, actual: string, recorded: string | null): VerifyFailure | undefined {
    if (this.#failure) return this.#failure;
    const expected = this.#tree.size;
    if (index !== expected) {
      return this.#failAfterMismatch(
        expected,
        index > expected
          ? `entry ${expected} is missing: the next entry present is ${index}`
          : `entry ${index} appears again (or out of order) where entry ${expected} belongs`,
      );
    }
    if (!this.#mismatch && recorded !== actual) {
      this.#mismatch = { index, actual, recorded };
      this.#recordedTree = this.#tree.clone();
    }
    this.#tree.append(actual);
    if (this.#recordedTree) {
      if (recorded === null) this.#recordedUsable = false;
      else this.#recordedTree.append(recorded);
    }
    this.#checkCheckpoints();
    return this.#failure;
  }

  /**
   * Fast path: the next `count` entries, already checked against their recorded hashes and summarised
   * as complete subtrees (with a summary at each checkpoint size inside the range). Returns false, and
   * changes nothing, if they cannot simply be accepted: a pending disagreement, or a checkpoint that
   * does not match. The caller then feeds the same entries one by one to find out exactly what is wrong.
   */
  addVerifiedRange(
    count: number,
    subtrees: readonly Subtree<string>[],
    prefixes: readonly { size: number; subtrees: readonly Subtree<string>[] }[],
  ): boolean {
    if (this.#failure || this.#mismatch) return false;
    const end = this.#tree.size + count;
    let next = this.#next;
    let lastGood = this.#lastGood;
    for (const prefix of prefixes) {
      while (this.#checkpoints[next]?.size === prefix.size) {
        const tree = this.#tree.clone();
        for (const s of prefix.subtrees) tree.appendSubtree(s.level, s.index, s.hash);
        if (tree.root() !== this.#checkpoints[next]!.root) return false;
        lastGood = prefix.size;
        next++;
      }
    }
    if ((this.#checkpoints[next]?.size ?? Infinity) <= end) return false;
    for (const s of subtrees) this.#tree.appendSubtree(s.level, s.index, s.hash);
    if (this.#tree.size !== end)
      throw new Error(`a range of ${count} entries summarised as ${this.#tree.size - end + count}`);
    this.#next = next;
    this.#lastGood = lastGood;
    return true;
  }

  /** Call after the last entry: anything signed but absent, or present but unsigned, is a failure. */
  finish(): VerifyFailure | undefined {
    if (this.#failure) return this.#failure;
    const size = this.#tree.size;
    const missing = this.#checkpoints[this.#next];
    if (missing) {
      return this.#failAfterMismatch(
        size,
        `the log ends after ${size} entries but the checkpoint of size ${missing.size} was signed: entries ${size}..${missing.size - 1} were removed`,
      );
    }
    const covered = this.#checkpoints.at(-1)?.size ?? 0;
    if (size > covered) {
      return this.#failAfterMismatch(
        covered,
        `entries ${covered}..${size - 1} are not covered by any signed checkpoint`,
      );
    }
    return undefined;
  }

  /** The entry at the current position cannot even be read. */
  unreadable(reason: string): VerifyFailure {
    return this.#failure ?? this.#failAfterMismatch(this.#tree.size, reason);
  }

  /**
   * A failure found at `index` while an earlier entry already disagreed with its recorded hash (and no
   * checkpoint has yet said which of the two is wrong): the earlier entry is the first bad one.
   */
  #failAfterMismatch(index: number, reason: string): VerifyFailure {
    const m = this.#mismatch;
    if (m && m.index < index) {
      return this.#fail(
        m.index,
        `entry ${m.index} does not match the leaf hash recorded for it (it hashes to ${hex(m.actual)}, recorded ${hex(m.recorded)}); later: ${reason}`,
      );
    }
    return this.#fail(index, reason);
  }

  #checkCheckpoints(): void {
    const size = this.#tree.size;
    while (!this.#failure && this.#checkpoints[this.#next]?.size === size) {
      const checkpoint = this.#checkpoints[this.#next++]!;
      if (this.#tree.root() === checkpoint.root) {
        if (this.#mismatch) {
          const m = this.#mismatch;
          this.#fail(
            m.index,
            `the recorded leaf hash of entry ${m.index} (${hex(m.recorded)}) was altered: the entry itself hashes to ${hex(m.actual)} and the entries reproduce the checkpoint of size ${size}`,
          );
          return;
        }
        this.#lastGood = size;
        continue;
      }
      this.#blame(checkpoint);
    }
  }

  #blame(checkpoint: Checkpoint & { root: string }): void {
    const m = this.#mismatch;
    const range = `entries ${this.#lastGood}..${checkpoint.size - 1}`;
    if (m && this.#recordedUsable && this.#recordedTree?.root() === checkpoint.root) {
      this.#fail(
        m.index,
        `entry ${m.index} was altered: it hashes to ${hex(m.actual)} but the checkpoint of size ${checkpoint.size} commits to leaf hash ${hex(m.recorded)}`,
      );
    } else if (m) {
      this.#fail(
        m.index,
        `entry ${m.index} does not match its recorded leaf hash, and ${range} do not reproduce the root signed in the checkpoint of size ${checkpoint.size}`,
      );
    } else if (checkpoint.size === this.#lastGood && checkpoint.size > 0) {
      this.#fail(
        checkpoint.size - 1,
        `two checkpoints of size ${checkpoint.size} carry different roots: the log signed two different histories`,
      );
    } else if (checkpoint.size === 0) {
      this.#fail(0, 'a checkpoint of the empty log carries a root other than the empty-tree hash');
    } else {
      this.#fail(
        this.#lastGood,
        `${range} do not reproduce the root signed in the checkpoint of size ${checkpoint.size}; their recorded leaf hashes were rewritten too, so the altered entry within that range cannot be pinpointed`,
      );
    }
  }

  #fail(index: number, reason: string): VerifyFailure {
    this.#failure = { index, reason };
    return this.#failure;
  }
}

function hex(h: string | null): string {
  return h === null ? 'none' : Buffer.from(h, 'latin1').toString('hex');
}

/**
 * Verifies the log as stored in the database, the same way an export is verified: sign (or reuse) a
 * checkpoint covering every entry (which checks the tree against every earlier checkpoint), then
 * recompute the tree from the stored entries against all stored checkpoints.
 */
export async function verifyStoredLog(
  log: TransparencyLog<unknown>,
  onProgress?: (done: number, total: number) => void,
): Promise<VerifyReport> {
  const report: VerifyReport = {
    ok: false,
    log: log.name,
    origin: log.origin,
    keys: log.trustedKeys.map((k) => k.text),
    keysFrom: 'log',
    entries: 0,
    checkpoints: 0,
    treeSize: 0,
    rootHash: '',
  };
  let refusal: VerifyFailure | undefined;
  try {
    await log.signCheckpoint();
  } catch (err) {
    if (
      !(err instanceof PalisadeError) ||
      !['AUDIT_CHECKPOINT_REFUSED', 'AUDIT_TREE_CORRUPT'].includes(err.code)
    ) {
      throw err;
    }
    refusal = { index: null, reason: describeError(err) };
  }
  const checkpoints: Checkpoint[] = [];
  try {
    for await (const c of log.checkpoints(0, Number.MAX_SAFE_INTEGER)) checkpoints.push(c);
  } catch (err) {
    if (!(err instanceof PalisadeError) || err.code !== 'AUDIT_TREE_CORRUPT') throw err;
    return { ...report, failure: { index: null, reason: describeError(err) } };
  }
  report.checkpoints = checkpoints.length;
  const latest = checkpoints.at(-1);
  const size = latest?.size ?? 0;
  const verifier = new TreeVerifier(checkpoints);
  let done = 0;
  for await (const entry of log.entries(0, size)) {
    const recorded = entry.recordedHash === null ? null : entry.recordedHash.toString('latin1');
    if (verifier.add(entry.index, leafHash(entry.data).toString('latin1'), recorded)) break;
    if (++done % 65536 === 0) onProgress?.(done, size);
  }
  const failure = verifier.failure ?? verifier.finish() ?? refusal;
  report.entries = verifier.size;
  if (failure) return { ...report, failure };
  onProgress?.(verifier.size, size);
  return {
    ...report,
    ok: true,
    treeSize: size,
    rootHash: (latest?.rootHash ?? EMPTY_ROOT).toString('base64'),
  };
}
