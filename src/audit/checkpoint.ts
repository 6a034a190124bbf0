import { PalisadeError } from '../errors/index.js';
import { HASH_SIZE } from './merkle.js';
import { checkKeyName, signNote, strictBase64, verifyNote, type VerifierKey } from './note.js';
import type { CheckpointSigner } from './signer.js';

/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): a signed note whose text is
 *
 *   <origin>\n
 *   <tree size, ASCII decimal, no leading zeros>\n
 *   <base64 of the RFC 6962 root hash>\n
 *
 * Palisade writes no extension lines; it accepts and ignores them when reading others' checkpoints.
 */
export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
  /** The complete signed note, byte for byte as signed. */
  note: string;
  /** When this log signed it (stored beside the note; absent for a checkpoint read from a note alone). */
  signedAt?: string;
}

function invalid(message: string): PalisadeError {
  return new PalisadeError('CHECKPOINT_INVALID', message, { status: 422 });
}

/** Origins follow the key-name rule so that the log's key name can be its origin. */
export function checkOrigin(origin: string): void {
  try {
    checkKeyName(origin);
  } catch {
    throw new PalisadeError(
      'CONFIG_INVALID',
      `audit origin ${JSON.stringify(origin.slice(0, 80))} must be non-empty, without spaces, '+' or control characters`,
    );
  }
}

export function checkpointText(origin: string, size: number, rootHash: Uint8Array): string {
  return `${origin}\n${size}\n${Buffer.from(rootHash).toString('base64')}\n`;
}

export async function signCheckpoint(
  signer: CheckpointSigner,
  origin: string,
  size: number,
  rootHash: Buffer,
): Promise<Checkpoint> {
  const note = await signNote(checkpointText(origin, size, rootHash), signer);
  return { origin, size, rootHash, note };
}

/** Parses checkpoint text (already verified or not): origin, size and root, strictly. */
export function parseCheckpointText(text: string): Omit<Checkpoint, 'note'> {
  const lines = text.split('\n');
  // text ends with "\n", so the last element is empty.
  if (lines.length < 4 || lines.at(-1) !== '') throw invalid('a checkpoint has at least three lines');
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (origin.length === 0) throw invalid('the checkpoint origin is empty');
  if (!/^(0|[1-9][0-9]{0,19})$/.test(sizeText))
    throw invalid(`bad tree size ${JSON.stringify(sizeText.slice(0, 30))}`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size))
    throw invalid(`tree size ${sizeText} is beyond what this verifier handles (2^53)`);
  const rootHash = strictBase64(rootText);
  if (rootHash?.length !== HASH_SIZE) throw invalid('the root hash is not base64 of 32 bytes');
  if (lines.slice(3, -1).some((l) => l.length === 0)) throw invalid('extension lines must not be empty');
  return { origin, size, rootHash };
}

/**
 * Verifies a checkpoint note against trusted keys and parses it. With `origin`, a checkpoint of another
 * log is refused even if a trusted key signed it.
 */
export function openCheckpoint(note: string, keys: readonly VerifierKey[], origin?: string): Checkpoint {
  const { text } = verifyNote(note, keys);
  const parsed = parseCheckpointText(text);
  if (origin !== undefined && parsed.origin !== origin) {
    throw invalid(
      `the checkpoint is for log ${JSON.stringify(parsed.origin)}, not ${JSON.stringify(origin)}`,
    );
  }
  return { ...parsed, note };
}
