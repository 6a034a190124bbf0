// A recorder in its own process, for the crash tests: opens the given database and storage, starts
// recording every camera in the database, and runs until it is killed. Prints "recording" once started.
import path from 'node:path';
import { openFileSigner } from '../../src/audit/index.js';
import { openDatabase } from '../../src/db/index.js';
import { Keyring, LocalKeyProvider } from '../../src/keys/index.js';
import { ZoneDirectory } from '../../src/network/index.js';
import { Recorder } from '../../src/recording/index.js';
import { LocalBlobStore } from '../../src/storage/index.js';
import { testSettings, SYSTEM } from './recording.js';

const [url, dir, storageDir, settingsJson] = process.argv.slice(2) as [string, string, string, string];
const database = openDatabase({ url, dataDir: dir, poolSize: 10 });
const provider = await LocalKeyProvider.open(path.join(dir, 'keys', 'local-keys.json'));
const keyring = new Keyring({ database, provider, audit: async () => undefined });
const recorder = await Recorder.open({
  database,
  keyring,
  store: await LocalBlobStore.open(storageDir),
  audit: { append: async () => ({ index: 0 }) },
  zones: new ZoneDirectory(database),
  settings: testSettings(JSON.parse(settingsJson) as object),
  signer: openFileSigner({
    file: path.join(dir, 'keys', 'video.pem'),
    name: 'palisade/test/video-integrity',
  }),
  origin: 'palisade/test/video-integrity',
  systemActor: SYSTEM,
  checkpointIntervalMs: 0,
});
await recorder.start();
process.stdout.write(
  `recording ${JSON.stringify({ recovered: recorder.recovery.finalized.length, discarded: recorder.recovery.discarded.length })}\n`,
);
process.on('SIGTERM', () => {
  void recorder.close().then(() => process.exit(0));
});
