/**
 * A separate process that runs (or resumes) a re-wrap job, printing one JSON line per committed batch.
 * The crash test kills it with SIGKILL mid-way and starts it again. Input: PALISADE_TEST_REWRAP (JSON).
 */
import { openDatabase } from '../../src/db/index.js';
import { Keyring, Pkcs11KeyProvider } from '../../src/keys/index.js';
import { adoptSoftHsmToken, type SoftHsmToken } from './softhsm.js';

interface WorkerInput {
  dbUrl: string;
  dataDir: string;
  token: SoftHsmToken;
  kekId: string;
  batchSize: number;
}

const input = JSON.parse(process.env.PALISADE_TEST_REWRAP ?? '') as WorkerInput;
adoptSoftHsmToken(input.token);
const database = openDatabase({ url: input.dbUrl, dataDir: input.dataDir });
const provider = await Pkcs11KeyProvider.open({
  module: input.token.module,
  tokenLabel: input.token.tokenLabel,
  pin: input.token.pin,
});
try {
  const keyring = new Keyring({
    database,
    provider,
    audit: async (e) => {
      process.stdout.write(`${JSON.stringify({ event: e.action, details: e.details })}\n`);
    },
  });
  const result = await keyring.rewrap(input.kekId, {
    batchSize: input.batchSize,
    onProgress: (p) => process.stdout.write(`${JSON.stringify({ progress: p })}\n`),
  });
  process.stdout.write(`${JSON.stringify({ result })}\n`);
} finally {
  await provider.close();
  await database.close();
}
