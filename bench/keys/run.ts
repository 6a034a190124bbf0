/**
 * bench/keys: the segment format against raw AES-256-GCM on the same bytes in the same run, random
 * range opens in a 64 MiB object, and data-key wraps per second through SoftHSM2 and the local key file.
 *
 *   npm run bench:keys            (add -- --mib 256 for a bigger object, -- --rounds 41 for more rounds)
 */
import { createCipheriv, createDecipheriv, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  LocalKeyProvider,
  Pkcs11KeyProvider,
  SealedObjectReader,
  SegmentOpener,
  SegmentSealer,
  DEFAULT_CHUNK_SIZE,
  bufferSource,
  fileSource,
  type KeyProvider,
} from '../../src/keys/index.js';
import { dekContext } from '../../src/keys/wrapped-key.js';
import { SOFTHSM_SKIP, softHsmToken } from '../../test/support/softhsm.js';

const { values: args } = parseArgs({
  options: { mib: { type: 'string', default: '64' }, rounds: { type: 'string', default: '21' } },
});
const MIB = Number(args.mib);
const ROUNDS = Number(args.rounds);
const PIECE = 1024 * 1024; // what a recorder hands over at a time: about one fMP4 fragment
const ids = { objectId: 'bench-segment', cameraId: 'cam-bench' };

const rows: string[][] = [];
const row = (...cells: (string | number)[]) => rows.push(cells.map(String));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const mibps = (bytes: number, ms: number) => (bytes / 1048576 / (ms / 1000)).toFixed(0);

/** Collects the previous measurement's garbage first, so it is not billed to the next one. */
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function time(fn: () => void): number {
  gc();
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}
async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  gc();
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const plain = randomBytes(MIB * 1048576);
const dek = randomBytes(32);

// Both sides hand every sealed piece to a consumer (a storage writer) and keep nothing, like a recorder.
let sink = 0;
const consume = (b: Buffer) => (sink += b.length);

// ---- raw AES-256-GCM: one cipher over the whole object ------------------------------------------------------
// Fed in pieces of several sizes: the size of the output buffers Node allocates changes the cost of the
// same cipher by tens of percent here, so the baseline is the fastest of them.
const RAW_PIECES = [PIECE, 256 * 1024, 64 * 1024];
function rawSeal(piece: number): void {
  const cipher = createCipheriv('aes-256-gcm', dek, randomBytes(12));
  for (let o = 0; o < plain.length; o += piece) consume(cipher.update(plain.subarray(o, o + piece)));
  cipher.final();
  consume(cipher.getAuthTag());
}
const rawIv = randomBytes(12);
const rawCipher = createCipheriv('aes-256-gcm', dek, rawIv);
const rawSealed = Buffer.concat([rawCipher.update(plain), rawCipher.final()]);
const rawTag = rawCipher.getAuthTag();
function rawOpen(piece: number): void {
  const d = createDecipheriv('aes-256-gcm', dek, rawIv);
  d.setAuthTag(rawTag);
  for (let o = 0; o < rawSealed.length; o += piece) consume(d.update(rawSealed.subarray(o, o + piece)));
  d.final();
}

// ---- the segment format ------------------------------------------------------------------------------------
function segSeal(chunkSize: number, keep?: Buffer[]): void {
  const s = new SegmentSealer(dek, { ...ids, chunkSize });
  const take = (pieces: Buffer[]) => {
    for (const b of pieces) {
      consume(b);
      keep?.push(b);
    }
  };
  for (let o = 0; o < plain.length; o += PIECE) take(s.update(plain.subarray(o, o + PIECE)));
  take(s.final());
}
const sealedWith = (chunkSize: number) => {
  const keep: Buffer[] = [];
  segSeal(chunkSize, keep);
  return Buffer.concat(keep);
};
function segOpenSequential(sealed: Buffer): void {
  const o = new SegmentOpener(dek, ids);
  for (let i = 0; i < sealed.length; i += PIECE)
    for (const p of o.update(sealed.subarray(i, i + PIECE))) consume(p);
  o.final();
}
async function segOpenReader(sealed: Buffer): Promise<void> {
  const r = await SealedObjectReader.open(bufferSource(sealed), dek, ids);
  for await (const p of r.stream()) consume(p);
}

const CHUNKS = [DEFAULT_CHUNK_SIZE, 65536];
const sealedBy = new Map(CHUNKS.map((c) => [c, sealedWith(c)]));
const kib = (c: number) => `${c / 1024} KiB chunks${c === DEFAULT_CHUNK_SIZE ? ' (default)' : ''}`;

console.log(
  `bench/keys: ${MIB} MiB object, ${ROUNDS} rounds (median), Node ${process.version}, ${os.cpus().length} cores`,
);
const runs = new Map<string, number[]>();
const record = (name: string, ms: number) => runs.set(name, [...(runs.get(name) ?? []), ms]);
for (let r = 0; r < ROUNDS; r++) {
  // Interleaved, so a noisy neighbour slows both sides of a comparison alike.
  for (const p of RAW_PIECES)
    record(
      `seal raw ${p}`,
      time(() => rawSeal(p)),
    );
  for (const c of CHUNKS)
    record(
      `seal ${c}`,
      time(() => segSeal(c)),
    );
  for (const p of RAW_PIECES)
    record(
      `open raw ${p}`,
      time(() => rawOpen(p)),
    );
  for (const c of CHUNKS) {
    record(
      `open ${c}`,
      time(() => segOpenSequential(sealedBy.get(c)!)),
    );
    record(`reader ${c}`, await timeAsync(() => segOpenReader(sealedBy.get(c)!)));
  }
}
const bytes = plain.length;
const ms = (name: string) => median(runs.get(name)!);
type Op = 'seal' | 'open';
const fastest = (op: Op) => Math.min(...RAW_PIECES.map((p) => ms(`${op} raw ${p}`)));
const vs = (name: string, op: Op) => `${((fastest(op) / ms(name)) * 100).toFixed(0)}%`;
const throughput = (label: string, name: string, op: Op) =>
  row(label, `${mibps(bytes, ms(name))} MiB/s`, vs(name, op));
for (const op of ['seal', 'open'] as const) {
  for (const p of RAW_PIECES) {
    const base = ms(`${op} raw ${p}`) === fastest(op) ? ' (baseline: the fastest)' : '';
    throughput(`${op}: raw AES-256-GCM, one stream, ${p / 1024} KiB pieces${base}`, `${op} raw ${p}`, op);
  }
  for (const c of CHUNKS) {
    if (op === 'seal') throughput(`seal: segment format, ${kib(c)}`, `seal ${c}`, op);
    else {
      throughput(`open: segment format, ${kib(c)}, sequential`, `open ${c}`, op);
      throughput(`open: segment format, ${kib(c)}, reader.stream()`, `reader ${c}`, op);
    }
  }
}

// ---- random ranges in the object, on disk ---------------------------------------------------------------------
const dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-bench-keys-'));
try {
  for (const c of CHUNKS) {
    const file = path.join(dir, `segment-${c}.pseg`);
    writeFileSync(file, sealedBy.get(c)!);
    const source = await fileSource(file);
    const openAndRead: number[] = [];
    const readOnly: number[] = [];
    const reader = await SealedObjectReader.open(source, dek, ids);
    for (let i = 0; i < 400; i++) {
      const offset = randomInt(0, plain.length - 65536);
      openAndRead.push(
        await timeAsync(async () => {
          const r = await SealedObjectReader.open(source, dek, ids);
          await r.read(offset, 65536);
        }),
      );
      readOnly.push(await timeAsync(() => reader.read(randomInt(0, plain.length - 4096), 4096)));
    }
    await source.close();
    const p = (xs: number[]) => `p50 ${median(xs).toFixed(3)} ms, p99 ${pct(xs, 0.99).toFixed(3)} ms`;
    row(`range: open + read 64 KiB at a random offset, ${kib(c)}`, p(openAndRead), '');
    row(`range: read 4 KiB at a random offset (already open), ${kib(c)}`, p(readOnly), '');
  }
  row(
    'range baseline: raw GCM must authenticate the whole object first',
    `p50 ${fastest('open').toFixed(1)} ms`,
    '',
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// ---- data-key wraps per second -------------------------------------------------------------------------------
async function wrapsPerSecond(
  provider: KeyProvider,
  n: number,
  concurrency: number,
): Promise<[number, number]> {
  const ref = await provider.createKek('palisade-kek:bench:v1');
  const key = randomBytes(32);
  const ctx = dekContext('bench', 1, 'bench-object');
  const wrapped: Buffer[] = [];
  const run = async (op: (i: number) => Promise<unknown>) => {
    let next = 0;
    const t = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) await op(next++);
      }),
    );
    return n / (Number(process.hrtime.bigint() - t) / 1e9);
  };
  const wraps = await run(async (i) => (wrapped[i] = await provider.wrapDek(ref, key, ctx)));
  const unwraps = await run((i) => provider.unwrapDek(ref, wrapped[i]!, ctx));
  await provider.destroyKek(ref);
  return [wraps, unwraps];
}
function rawWrapsPerSecond(n: number): number {
  const kek = randomBytes(32);
  const key = randomBytes(32);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const c = createCipheriv('aes-256-gcm', kek, randomBytes(12));
    c.update(key);
    c.final();
    c.getAuthTag();
  }
  return n / (Number(process.hrtime.bigint() - t) / 1e9);
}
const rate = (x: number) => `${Math.round(x).toLocaleString('en-US')} /s`;
row('DEK wrap: raw Node AES-256-GCM of 32 bytes, in process (baseline)', rate(rawWrapsPerSecond(50_000)), '');
const localDir = mkdtempSync(path.join(os.tmpdir(), 'palisade-bench-local-'));
try {
  const local = await LocalKeyProvider.open(path.join(localDir, 'keys.json'));
  const [w, u] = await wrapsPerSecond(local, 50_000, 1);
  row('DEK wrap / unwrap: local key file provider', `${rate(w)} / ${rate(u)}`, '');
  await local.close();
} finally {
  rmSync(localDir, { recursive: true, force: true });
}
if (SOFTHSM_SKIP) {
  row('DEK wrap / unwrap: PKCS#11 SoftHSM2', `skipped: ${SOFTHSM_SKIP}`, '');
} else {
  const t = softHsmToken();
  for (const sessions of [1, 4]) {
    const hsm = await Pkcs11KeyProvider.open({
      module: t.module,
      tokenLabel: t.tokenLabel,
      pin: t.pin,
      sessions,
    });
    const [w, u] = await wrapsPerSecond(hsm, 20_000, sessions * 2);
    row(
      `DEK wrap / unwrap: PKCS#11 SoftHSM2, ${sessions} session${sessions > 1 ? 's' : ''}`,
      `${rate(w)} / ${rate(u)}`,
      '',
    );
    await hsm.close();
  }
}

if (sink === 0) throw new Error('nothing was sealed');
const widths = [0, 1, 2].map((i) =>
  Math.max(...rows.map((r) => r[i]!.length), ['what', 'result', 'vs baseline'][i]!.length),
);
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(['what', 'result', 'vs baseline']));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
