import { hash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PalisadeError, describeError } from '../errors/index.js';
import { openCheckpoint, parseCheckpointText, type Checkpoint } from './checkpoint.js';
import { HASH_SIZE } from './merkle.js';
import { parseVerifierKey, type VerifierKey } from './note.js';
import type { TransparencyLog } from './tlog.js';
import { TreeVerifier, type VerifyFailure, type VerifyReport } from './verify.js';

/**
 * The export folder: everything an auditor needs to check a log offline, with nothing but this folder
 * (docs/audit-log.md describes it byte by byte for third-party verifiers).
 *
 *   log.json           what log this is, its origin and the verifier key(s) of its checkpoints
 *   entries.jsonl      one line per entry, in index order:
 *                      {"index":<n>,"leafHash":"<64 hex>","leaf":<leaf bytes verbatim>}\n
 *   checkpoints.jsonl  every checkpoint the log signed up to the export, oldest first:
 *                      {"size":<n>,"note":"<the signed note, JSON-escaped>"}\n
 *   checkpoint         the checkpoint covering the whole export, as a raw signed note
 *   README.txt         how to verify
 */
export const EXPORT_FORMAT = 'palisade-tlog-export';
export const EXPORT_VERSION = 1;
export const FILES = {
  manifest: 'log.json',
  entries: 'entries.jsonl',
  checkpoints: 'checkpoints.jsonl',
  checkpoint: 'checkpoint',
  readme: 'README.txt',
} as const;

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  log: string;
  origin: string;
  verifierKeys: string[];
  treeSize: number;
  exportedAt: string;
}

export interface ExportSummary {
  dir: string;
  entries: number;
  checkpoints: number;
  checkpoint: Checkpoint;
}

export type Progress = (done: number, total: number) => void;

/** Largest entry line the verifier reads (leaves are far smaller; this bounds memory on hostile input). */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;
const MAX_SMALL_FILE = 1024 * 1024;
const MAX_CHECKPOINT_LINE = 256 * 1024;
const WRITE_CHUNK = 1024 * 1024;
const PROGRESS_EVERY = 1 << 16;

/**
 * Writes the log up to a freshly signed checkpoint into `out`, which must not exist yet. The folder
 * appears complete or not at all: it is written under a temporary name and renamed at the end.
 */
export async function exportLog(
  log: TransparencyLog<unknown>,
  out: string,
  onProgress?: Progress,
): Promise<ExportSummary> {
  const dir = path.resolve(out);
  if (await exists(dir)) {
    throw new PalisadeError(
      'AUDIT_EXPORT_EXISTS',
      `${dir} already exists; choose a new folder for the export`,
    );
  }
  const checkpoint = await log.signCheckpoint();
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true, mode: 0o700 });
  try {
    let entries = 0;
    await writeFile(path.join(partial, FILES.entries), async (write) => {
      for await (const entry of log.entries(0, checkpoint.size)) {
        const hashText = entry.recordedHash ? `"${entry.recordedHash.toString('hex')}"` : 'null';
        await write(Buffer.from(`{"index":${entry.index},"leafHash":${hashText},"leaf":`));
        await write(entry.data);
        await write(Buffer.from('}\n'));
        if (++entries % PROGRESS_EVERY === 0) onProgress?.(entries, checkpoint.size);
      }
    });
    let checkpoints = 0;
    await writeFile(path.join(partial, FILES.checkpoints), async (write) => {
      for await (const c of log.checkpoints(0, checkpoint.size)) {
        await write(Buffer.from(`${JSON.stringify({ size: c.size, note: c.note })}\n`));
        checkpoints++;
      }
    });
    await writeFile(path.join(partial, FILES.checkpoint), (write) => write(Buffer.from(checkpoint.note)));
    const manifest: ExportManifest = {
      format: EXPORT_FORMAT,
      version: EXPORT_VERSION,
      log: log.name,
      origin: log.origin,
      verifierKeys: log.trustedKeys.map((k) => k.text),
      treeSize: checkpoint.size,
      exportedAt: new Date().toISOString(),
    };
    await writeFile(path.join(partial, FILES.readme), (write) => write(Buffer.from(readme(manifest))));
    await writeFile(path.join(partial, FILES.manifest), (write) =>
      write(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)),
    );
    await rename(partial, dir);
    onProgress?.(entries, checkpoint.size);
    return { dir, entries, checkpoints, checkpoint };
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    throw err;
  }
}

function readme(m: ExportManifest): string {
  return [
    `Palisade transparency log export: log "${m.log}", origin ${m.origin}, ${m.treeSize} entries.`,
    '',
    'Verify it offline with:',
    '',
    '    palisade audit verify <this folder> [--key <verifier key you trust>] [--against <earlier checkpoint>]',
    '',
    'Checkpoints are signed by:',
    ...m.verifierKeys.map((k) => `    ${k}`),
    '',
    'Compare that key with the one your organisation recorded; the format is described in',
    "Palisade's docs/audit-log.md, so any RFC 6962 / C2SP checkpoint verifier can check it too.",
    '',
  ].join('\n');
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Writes a file through a buffered writer, syncing it to disk before it is closed. */
async function writeFile(file: string, body: (write: (chunk: Buffer) => Promise<void>) => Promise<void>) {
  const handle = await open(file, 'wx', 0o600);
  try {
    const buffer = Buffer.allocUnsafe(WRITE_CHUNK);
    let used = 0;
    const flush = async () => {
      if (used > 0) await writeAll(handle, buffer.subarray(0, used));
      used = 0;
    };
    await body(async (chunk) => {
      if (used + chunk.length > buffer.length) await flush();
      if (chunk.length >= buffer.length) {
        await writeAll(handle, chunk);
        return;
      }
      chunk.copy(buffer, used);
      used += chunk.length;
    });
    await flush();
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

// ---------------------------------------------------------------------------------------------------
// Verification of an export folder.

export interface VerifyOptions {
  /** A checkpoint note the export must extend (one the auditor kept from before). */
  against?: string;
  /** Verifier keys to trust instead of the ones the export names. */
  keys?: readonly string[];
  onProgress?: Progress;
}

function unreadable(message: string, cause?: unknown): PalisadeError {
  return new PalisadeError('AUDIT_EXPORT_UNREADABLE', message, cause === undefined ? {} : { cause });
}

async function readSmall(file: string): Promise<string> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    throw unreadable(`cannot read ${file}: ${describeError(err)}`, err);
  }
  if (size > MAX_SMALL_FILE) throw unreadable(`${file} is larger than ${MAX_SMALL_FILE} bytes`);
  return new TextDecoder('utf-8', { fatal: true }).decode(await readFile(file));
}

/** Reads and checks log.json. */
async function readManifest(dir: string): Promise<ExportManifest> {
  const file = path.join(dir, FILES.manifest);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readSmall(file));
  } catch (err) {
    if (err instanceof PalisadeError) throw err;
    throw unreadable(`${file} is not valid JSON: ${describeError(err)}`);
  }
  const m = parsed as Partial<ExportManifest> | null;
  if (m?.format !== EXPORT_FORMAT || m.version !== EXPORT_VERSION) {
    throw unreadable(`${file} is not a ${EXPORT_FORMAT} version ${EXPORT_VERSION} manifest`);
  }
  if (
    typeof m.log !== 'string' ||
    typeof m.origin !== 'string' ||
    !Array.isArray(m.verifierKeys) ||
    !m.verifierKeys.every((k) => typeof k === 'string') ||
    !Number.isSafeInteger(m.treeSize)
  ) {
    throw unreadable(`${file} lacks log, origin, verifierKeys or treeSize`);
  }
  return m as ExportManifest;
}

/**
 * Checks an export folder: every checkpoint signature, the tree recomputed from every entry against
 * every checkpoint (which also proves the checkpoints consistent with each other), and optionally that
 * the export extends a checkpoint the auditor already holds. Problems with the data are reported in
 * `failure` with the first bad index; an unreadable folder throws AUDIT_EXPORT_UNREADABLE.
 */
export async function verifyExport(dirArg: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const dir = path.resolve(dirArg);
  const manifest = await readManifest(dir);
  const pinned = options.keys !== undefined && options.keys.length > 0;
  const keys: VerifierKey[] = (pinned ? options.keys! : manifest.verifierKeys).map((k) =>
    parseVerifierKey(k),
  );
  const report: VerifyReport = {
    ok: false,
    log: manifest.log,
    origin: manifest.origin,
    keys: keys.map((k) => k.text),
    keysFrom: pinned ? 'pinned' : 'export',
    entries: 0,
    checkpoints: 0,
    treeSize: 0,
    rootHash: '',
  };
  const fail = (failure: VerifyFailure) => ({ ...report, failure });

  const checkpoints: Checkpoint[] = [];
  const seen = new Set<string>();
  const add = (note: string, where: string): Checkpoint | VerifyFailure => {
    let c: Checkpoint;
    try {
      c = openCheckpoint(note, keys, manifest.origin);
    } catch (err) {
      let size: number | null = null;
      try {
        size = parseCheckpointText(note.slice(0, note.lastIndexOf('\n\n') + 1)).size;
      } catch {
        // the size is unreadable as well
      }
      return {
        index: null,
        reason: `${where}${size === null ? '' : ` (size ${size})`}: ${describeError(err)}`,
      };
    }
    if (!seen.has(c.note)) {
      seen.add(c.note);
      checkpoints.push(c);
    }
    return c;
  };

  let i = 0;
  for await (const line of readLines(path.join(dir, FILES.checkpoints), MAX_CHECKPOINT_LINE)) {
    if (line === undefined) {
      return fail({
        index: null,
        reason: `${FILES.checkpoints} line ${i + 1} is too long or not terminated`,
      });
    }
    let entry: { size?: unknown; note?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return fail({ index: null, reason: `${FILES.checkpoints} line ${i + 1} is not JSON` });
    }
    if (typeof entry.note !== 'string')
      return fail({ index: null, reason: `${FILES.checkpoints} line ${i + 1} has no note` });
    const c = add(entry.note, `${FILES.checkpoints} line ${i + 1}`);
    if ('reason' in c) return fail(c);
    if (c.size !== entry.size) {
      return fail({
        index: null,
        reason: `${FILES.checkpoints} line ${i + 1} says size ${String(entry.size)} but its note says ${c.size}`,
      });
    }
    i++;
  }
  const latest = add(await readSmall(path.join(dir, FILES.checkpoint)), `file ${FILES.checkpoint}`);
  if ('reason' in latest) return fail(latest);
  if (latest.size !== manifest.treeSize) {
    return fail({
      index: null,
      reason: `${FILES.manifest} says ${manifest.treeSize} entries but ${FILES.checkpoint} covers ${latest.size}`,
    });
  }
  if (checkpoints.some((c) => c.size > latest.size)) {
    return fail({
      index: null,
      reason: `${FILES.checkpoints} holds a checkpoint newer than ${FILES.checkpoint}`,
    });
  }
  if (options.against !== undefined) {
    const against = add(options.against, 'the --against checkpoint');
    if ('reason' in against) return fail(against);
    report.against = { size: against.size, rootHash: against.rootHash.toString('base64') };
  }
  report.checkpoints = checkpoints.length;

  const verifier = new TreeVerifier(checkpoints);
  const failure =
    (await readEntries(path.join(dir, FILES.entries), verifier, manifest.treeSize, options.onProgress)) ??
    verifier.finish();
  report.entries = verifier.size;
  if (failure) return fail(failure);
  report.treeSize = latest.size;
  report.rootHash = latest.rootHash.toString('base64');
  report.ok = true;
  return report;
}

/**
 * Reads a text file line by line with a bound on line length. Yields undefined (and stops) for a line
 * that is too long or a last line without its newline.
 */
async function* readLines(file: string, maxLine: number): AsyncGenerator<string | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw unreadable(`cannot read ${file}: ${describeError(err)}`, err);
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    const buf = Buffer.allocUnsafe(maxLine + 1);
    let have = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, have, buf.length - have, null);
      have += bytesRead;
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl >= 0 && nl < have; nl = buf.indexOf(10, start)) {
        let line: string;
        try {
          line = decoder.decode(buf.subarray(start, nl));
        } catch {
          throw unreadable(`${file} is not valid UTF-8`);
        }
        start = nl + 1;
        yield line;
      }
      if (bytesRead === 0 || (start === 0 && have === buf.length)) {
        if (have > start) yield undefined;
        return;
      }
      buf.copy(buf, 0, start, have);
      have -= start;
    }
  } finally {
    await handle.close();
  }
}

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
}
const INDEX_PREFIX = Buffer.from('{"index":');
const HASH_PREFIX = Buffer.from(',"leafHash":');
const LEAF_PREFIX = Buffer.from(',"leaf":');
const NULL = Buffer.from('null');

function startsWith(buf: Buffer, at: number, prefix: Buffer): boolean {
  return buf.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0;
}

/**
 * Streams entries.jsonl through the verifier. Parsing is byte-level (no JSON.parse per line) so that
 * verification runs close to the speed of hashing itself.
 */
async function readEntries(
  file: string,
  verifier: TreeVerifier,
  total: number,
  onProgress?: Progress,
): Promise<VerifyFailure | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw unreadable(`cannot read ${file}: ${describeError(err)}`, err);
  }
  try {
    let buf = Buffer.allocUnsafe(8 * 1024 * 1024);
    let have = 0;
    let eof = false;
    const recorded = Buffer.alloc(HASH_SIZE);
    let lineNo = 0;
    while (!eof) {
      if (have === buf.length) {
        if (buf.length >= MAX_LINE_BYTES * 2) {
          return verifier.unreadable(`line ${lineNo + 1} is longer than ${MAX_LINE_BYTES} bytes`);
        }
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const { bytesRead } = await handle.read(buf, have, buf.length - have, null);
      if (bytesRead === 0) eof = true;
      have += bytesRead;
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(10, start);
        if (nl < 0 || nl >= have) break;
        lineNo++;
        if (nl - start > MAX_LINE_BYTES) {
          return verifier.unreadable(`line ${lineNo} is longer than ${MAX_LINE_BYTES} bytes`);
        }
        const failure = entryLine(buf, start, nl, recorded, verifier, lineNo);
        if (failure) return failure;
        if (verifier.size % PROGRESS_EVERY === 0) onProgress?.(verifier.size, total);
        start = nl + 1;
      }
      if (eof && start < have) {
        return verifier.unreadable(`${FILES.entries} ends in the middle of line ${lineNo + 1} (truncated)`);
      }
      buf.copy(buf, 0, start, have);
      have -= start;
    }
    onProgress?.(verifier.size, total);
    return undefined;
  } finally {
    await handle.close();
  }
}

function entryLine(
  buf: Buffer,
  start: number,
  end: number,
  recorded: Buffer,
  verifier: TreeVerifier,
  lineNo: number,
): VerifyFailure | undefined {
  const malformed = (why: string): VerifyFailure =>
    verifier.unreadable(`${FILES.entries} line ${lineNo} is malformed (${why})`);
  let at = start;
  if (!startsWith(buf, at, INDEX_PREFIX)) return malformed('expected {"index":');
  at += INDEX_PREFIX.length;
  let index = 0;
  const digitsFrom = at;
  while (at < end && buf[at]! >= 0x30 && buf[at]! <= 0x39 && at - digitsFrom < 16) {
    index = index * 10 + buf[at]! - 0x30;
    at++;
  }
  if (at === digitsFrom || (buf[digitsFrom] === 0x30 && at - digitsFrom > 1)) return malformed('bad index');
  if (!startsWith(buf, at, HASH_PREFIX)) return malformed('expected ,"leafHash":');
  at += HASH_PREFIX.length;
  let hasRecorded = true;
  if (buf[at] === 0x22) {
    for (let i = 0; i < HASH_SIZE; i++) {
      const hi = HEX[buf[at + 1 + 2 * i]!]!;
      const lo = HEX[buf[at + 2 + 2 * i]!]!;
      if (hi < 0 || lo < 0) return malformed('leafHash is not 64 lower-case hex digits');
      recorded[i] = (hi << 4) | lo;
    }
    if (buf[at + 1 + 2 * HASH_SIZE] !== 0x22) return malformed('leafHash is not 64 lower-case hex digits');
    at += 2 + 2 * HASH_SIZE;
  } else if (startsWith(buf, at, NULL)) {
    hasRecorded = false;
    at += NULL.length;
  } else {
    return malformed('leafHash must be a hex string or null');
  }
  if (!startsWith(buf, at, LEAF_PREFIX)) return malformed('expected ,"leaf":');
  at += LEAF_PREFIX.length;
  const leafEnd = end - 1;
  if (leafEnd <= at || buf[leafEnd] !== 0x7d) return malformed('expected the line to end with }');
  // The leaf hash is SHA-256(0x00 || leaf). The byte before the leaf is the ':' we just matched; put the
  // 0x00 prefix there for the moment so the leaf is hashed in place, without a copy.
  const colon = buf[at - 1]!;
  buf[at - 1] = 0x00;
  const actual = hash('sha256', buf.subarray(at - 1, leafEnd), 'buffer');
  buf[at - 1] = colon;
  return verifier.add(index, actual, hasRecorded ? recorded : null);
}
