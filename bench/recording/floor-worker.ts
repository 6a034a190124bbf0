// The least work a Node process can do and still record the way issue 8 requires, with none of the
// recorder around it: the floor under bench:recording's Palisade row. Used by bench/recording/run.ts.
//
// Mode `receive`: read every camera through media/'s RtspSession (batched reads, as the recorder
// reads) and drop each access unit.
// Mode `pipeline`: also copy each frame's NAL units, length-prefixed, into a one-second body (what the
// fragmenter copies into an mdat), pad it to a chunk boundary, seal it with keys/' SegmentSealer
// (AES-256-GCM records), hash the ciphertext with SHA-256, write it with one pwritev and fdatasync at
// most once a second (as the segment writer does). No fMP4 boxes, no index, no integrity log, no
// segment files to rotate, no health.
//
// Args: dir, comma-separated URLs, user, password, TLS fingerprint ('' for plain RTSP), mode.
// Prints "ready" once every camera plays; runs until SIGTERM.
import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { SegmentSealer } from '../../src/keys/index.js';
import { RtspSession } from '../../src/media/index.js';
import { paddingFor } from '../../src/recording/index.js';

const [dir = '', urlList = '', user = '', password = '', tlsFingerprint = '', mode = 'pipeline'] =
  process.argv.slice(2);
const CHUNK_SIZE = Number(process.env.BENCH_CHUNK_SIZE ?? 16384);
const READ_BATCH_MS = Number(process.env.BENCH_READ_BATCH_MS ?? 100);
const FSYNC_MS = Number(process.env.BENCH_FSYNC_MS ?? 1000);
/** 90 kHz ticks per body, like the recorder's one-second fragments. */
const BODY_TICKS = 90_000;

async function record(url: string, i: number): Promise<void> {
  const rtsp = new RtspSession({
    url,
    username: user,
    password,
    transport: 'tcp',
    ...(tlsFingerprint ? { tls: { fingerprint256: tlsFingerprint } } : {}),
    reuseBuffers: true,
    readBatchMs: READ_BATCH_MS,
  });
  await rtsp.start();
  if (mode === 'receive') {
    void (async () => {
      for await (const au of rtsp) au.release?.();
    })();
    return;
  }
  const file = await open(path.join(dir, `cam${i}.sealed`), 'w');
  const sealer = new SegmentSealer(randomBytes(32), { objectId: `floor-${i}`, chunkSize: CHUNK_SIZE });
  const hash = createHash('sha256');
  // Grows to the largest second seen, then is reused (as the recorder's mdat buffer is).
  let body = Buffer.alloc(1 << 20);
  let length = 0;
  let bodyStart: number | undefined;
  let position = 0;
  let lastSync = Date.now();
  void (async () => {
    for await (const au of rtsp) {
      if (bodyStart !== undefined && au.timestamp - bodyStart >= BODY_TICKS && length > 0) {
        length += paddingFor(length, CHUNK_SIZE);
        if (length > body.length) body = Buffer.concat([body, Buffer.alloc(length - body.length)]);
        const sealed: Buffer[] = [];
        sealer.updateInto(body.subarray(0, length), sealed);
        await file.writev(sealed, position);
        for (const s of sealed) {
          hash.update(s);
          position += s.length;
        }
        length = 0;
        if (Date.now() - lastSync >= FSYNC_MS) {
          lastSync = Date.now();
          await file.datasync();
        }
      }
      if (length === 0) bodyStart = au.timestamp;
      const need = length + au.byteLength + 4 * au.nalus.length;
      if (need > body.length)
        body = Buffer.concat([body.subarray(0, length), Buffer.alloc(need * 2 - length)]);
      for (const nal of au.nalus) {
        length = body.writeUInt32BE(nal.length, length);
        length += nal.copy(body, length);
      }
      au.release?.();
    }
  })();
}

await Promise.all(urlList.split(',').map((url, i) => record(url, i)));
process.stdout.write('ready\n');
process.on('SIGTERM', () => process.exit(0));
