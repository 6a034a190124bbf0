import { mkdir, open, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { PalisadeError, describeError } from '../errors/index.js';
import { openCheckpoint, parseCheckpointText, type Checkpoint } from './checkpoint.js';
import { readEntries, type Progress } from './entries-reader.js';
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

export type { Progress };
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
    (await readEntries(
      { file: path.join(dir, FILES.entries), label: FILES.entries, total: manifest.treeSize },
      verifier,
      checkpoints.map((c) => c.size).sort((a, b) => a - b),
      options.onProgress,
    )) ?? verifier.finish();
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
