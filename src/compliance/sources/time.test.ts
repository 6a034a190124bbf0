import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  observeTimeSync,
  parseChronyAuthdata,
  parseChronyTracking,
  parseTimedatectl,
  runCommand,
  timeFactSource,
  type CommandRunner,
} from './index.js';

// Outputs as printed by systemd 252 and chrony 4.3 (Debian 12).
const TIMEDATECTL_SYNCED = 'NTP=yes\nNTPSynchronized=yes\n';
const TIMEDATECTL_UNSYNCED = 'NTP=no\nNTPSynchronized=no\n';
const CHRONY_TRACKING = `Reference ID    : C0A80001 (ntp1.plant.example)
Stratum         : 3
Ref time (UTC)  : Mon Jun 01 11:58:01 2026
System time     : 0.000012345 seconds fast of NTP time
Leap status     : Normal
`;
const CHRONY_UNSYNCED = `Reference ID    : 00000000 ()
Stratum         : 0
Leap status     : Not synchronised
`;
const CHRONY_AUTHDATA_NTS = `Name/IP address             Mode KeyID Type KLen Last Atmp  NAK Cook CLen
=========================================================================
time.cloudflare.com          NTS     1   15  256  33m    0    0    8  100
nts.netnod.se                NTS     1   15  256  33m    0    0    8  100
`;
const CHRONY_AUTHDATA_MIXED = `Name/IP address             Mode KeyID Type KLen Last Atmp  NAK Cook CLen
=========================================================================
time.cloudflare.com          NTS     1   15  256  33m    0    0    8  100
pool.ntp.org                   -     0    0    0    -    0    0    0    0
`;

/** A host with the given commands installed; anything else is "not found". */
function host(outputs: Record<string, { code: number; stdout: string }>): CommandRunner {
  return async (command, args) => {
    const key = `${command} ${args.join(' ')}`;
    const out = outputs[key];
    return out ?? { code: null, stdout: '', error: `${command}: ENOENT` };
  };
}

describe('time synchronisation source', () => {
  it('parses timedatectl, chrony tracking and chrony authdata', () => {
    assert.deepEqual(parseTimedatectl(TIMEDATECTL_SYNCED), { synchronized: true, ntp: 'yes' });
    assert.deepEqual(parseTimedatectl(TIMEDATECTL_UNSYNCED), { synchronized: false, ntp: 'no' });
    assert.equal(parseTimedatectl('garbage\n'), null);
    assert.deepEqual(parseChronyTracking(CHRONY_TRACKING), {
      synchronized: true,
      reference: 'C0A80001 (ntp1.plant.example)',
    });
    assert.deepEqual(parseChronyTracking(CHRONY_UNSYNCED)?.synchronized, false);
    assert.equal(parseChronyTracking(''), null);
    assert.equal(parseChronyAuthdata(CHRONY_AUTHDATA_NTS), true);
    assert.equal(
      parseChronyAuthdata(CHRONY_AUTHDATA_MIXED),
      false,
      'one unauthenticated source is enough to be fooled',
    );
    assert.equal(parseChronyAuthdata('Name/IP address Mode KeyID\n====\n'), null);
  });

  it('prefers timedatectl, then the timesyncd flag, then chrony', async () => {
    const viaTimedatectl = await observeTimeSync(
      host({ 'timedatectl show -p NTPSynchronized -p NTP': { code: 0, stdout: TIMEDATECTL_UNSYNCED } }),
      () => true,
    );
    assert.deepEqual(viaTimedatectl, {
      status: 'unsynchronized',
      method: 'timedatectl',
      detail: 'timedatectl: NTPSynchronized=no, NTP=no',
      authenticated: null,
    });
    const viaFlag = await observeTimeSync(host({}), (p) => p === '/run/systemd/timesync/synchronized');
    assert.equal(viaFlag.status, 'synchronized');
    assert.equal(viaFlag.method, 'timesyncd-flag');
    const viaChrony = await observeTimeSync(
      host({ 'chronyc -n tracking': { code: 0, stdout: CHRONY_TRACKING } }),
      () => false,
    );
    assert.equal(viaChrony.method, 'chrony');
    assert.equal(viaChrony.status, 'synchronized');
    assert.equal(viaChrony.authenticated, null, 'no authdata answer: unknown, not false');
  });

  it('reports NTS authentication only when chrony can tell', async () => {
    let calls = 0;
    const chrony: CommandRunner = async (command, args) => {
      calls++;
      if (command === 'chronyc' && args[1] === 'authdata') return { code: 0, stdout: CHRONY_AUTHDATA_NTS };
      if (command === 'chronyc' && args[1] === 'tracking') return { code: 0, stdout: CHRONY_TRACKING };
      return { code: null, stdout: '', error: `${command}: ENOENT` };
    };
    const sync = await observeTimeSync(chrony, () => false);
    assert.equal(sync.authenticated, true);
    assert.equal(sync.status, 'synchronized');
    assert.ok(calls >= 3);
  });

  it('says "unknown" with what it tried when no time service answers, never "synchronized"', async () => {
    const sync = await observeTimeSync(host({}), () => false);
    assert.equal(sync.status, 'unknown');
    assert.equal(sync.method, 'none');
    assert.equal(sync.authenticated, null);
    assert.match(
      sync.detail,
      /timedatectl: ENOENT; no \/run\/systemd\/timesync\/synchronized; chronyc: ENOENT/,
    );
  });

  it('observes this host for real: whatever it finds, a claim of synchronisation names its method', async () => {
    const [fact] = await timeFactSource().collect();
    assert.equal(fact?.key, 'time.sync');
    const value = fact.value as { status: string; method: string; detail: string };
    assert.ok(['synchronized', 'unsynchronized', 'unknown'].includes(value.status));
    if (value.status === 'unknown') assert.equal(value.method, 'none');
    else assert.notEqual(value.method, 'none');
    assert.ok(value.detail.length > 0);
  });

  it('runs commands without a shell and reports a missing binary instead of throwing', async () => {
    const r = await runCommand('palisade-no-such-command', ['x']);
    assert.equal(r.code, null);
    assert.match(r.error ?? '', /ENOENT/);
  });
});

describe('time command parsers', () => {
  it('never throw on whatever a command prints (fuzz)', () => {
    const line = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.constantFrom('NTPSynchronized=yes', 'Leap status : Normal', 'NTS', '===='),
    );
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 20 }).map((l) => l.join('\n')),
        (out) => {
          const td = parseTimedatectl(out);
          if (td) assert.equal(typeof td.synchronized, 'boolean');
          const tr = parseChronyTracking(out);
          if (tr) assert.equal(typeof tr.synchronized, 'boolean');
          assert.ok([true, false, null].includes(parseChronyAuthdata(out)));
        },
      ),
      { numRuns: 500 },
    );
  });
});
