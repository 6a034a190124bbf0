/**
 * A child process for crash tests: appends audit events from several concurrent writers as fast as it
 * can and prints `<index> <seq>` on stdout for every acknowledged append, until it is killed.
 * Usage: node audit-writer.js <database url> <data dir> <writers>
 */
import { openDatabase } from '../../src/db/index.js';
import { openTestAuditLog, sampleEvent } from './audit.js';

const [url, dataDir, writersArg] = process.argv.slice(2) as [string, string, string];
const database = openDatabase({ url, dataDir, poolSize: 8 });
const log = await openTestAuditLog(database, dataDir);
const writers = Number(writersArg);

// Checkpoints keep being signed while appends run, as the server does.
setInterval(() => void log.signCheckpoint().catch(() => undefined), 25);

await Promise.all(
  Array.from({ length: writers }, async (_, w) => {
    for (let n = 0; ; n++) {
      const seq = w * 1_000_000 + n;
      const receipt = await log.append(sampleEvent(seq));
      // stdout is a pipe: writes are synchronous on Linux, so an ack printed is an ack the parent sees.
      process.stdout.write(`${receipt.index} ${seq}\n`);
    }
  }),
);
