import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CHECKS,
  type AttestationCheck,
  type RequirementResult,
  type ZoneEvaluation,
} from '../src/compliance/index.js';
import { ensureTlsMaterial } from '../src/http/index.js';
import type { ApiClient } from './support/api-client.js';
import { DIALECTS, type DialectCase } from './support/dialects.js';
import { startTestIdp, type TestIdp } from './support/oidc-idp.js';
import { issueServerCertificate } from './support/pki.js';
import { runCli } from './support/cli.js';
import { signedInUser, startTestServer, type TestServer } from './support/server.js';
import { tempDir } from './support/tmp.js';

/**
 * Issue 5's acceptance, end to end: three real configurations of a running Palisade, every fact
 * observed from the live modules (HTTP server over TLS, database, identity, access, audit, host time),
 * the exact SL-A vector of the default zone and the exact requirements blocking the next level.
 * Modules that do not exist yet (network, SIEM) have no fact source: their requirements
 * are "not assessed" and cap their FRs, as the acceptance demands.
 */

const YEAR = 365 * 86_400_000;

const blockers = (z: ZoneEvaluation) => z.gaps.map((g) => g.next?.blockers.map((b) => b.requirement) ?? []);
const result = (z: ZoneEvaluation, id: string): RequirementResult =>
  z.results.find((r) => r.requirement === id)!;
const met = (r: RequirementResult) => r.status === 'met' || r.status === 'not-applicable';

/** Every change of SL-A between two evaluations is accounted for by the earlier (or later) gap list. */
function explainChanges(from: ZoneEvaluation, to: ZoneEvaluation): void {
  for (const g of from.gaps) {
    const i = g.fr - 1;
    const before = from.slAchieved[i]!;
    const afterLevel = to.slAchieved[i]!;
    if (afterLevel > before) {
      // What the lower scenario named as blocking the next level is met in the higher one.
      assert.ok(g.next, `FR${g.fr} rose, so it had a next level`);
      for (const b of g.next.blockers)
        assert.ok(met(result(to, b.requirement)), `FR${g.fr}: ${b.requirement} now met`);
    }
    if (afterLevel < before) {
      // What the lower scenario names as blocking was met in the higher one: that is the change.
      const named = to.gaps[i]!.next!.blockers.map((x) => x.requirement);
      assert.ok(named.length > 0);
      for (const id of named) assert.ok(met(result(from, id)), `FR${g.fr}: ${id} was met before`);
    }
  }
}

for (const dialect of DIALECTS) {
  describe(`compliance scenarios on a running server (${dialect.name})`, { skip: dialect.skip }, () => {
    let a: ZoneEvaluation;
    let b: ZoneEvaluation;
    let c: ZoneEvaluation;

    it('(a) embedded defaults', async () => {
      const server = await startTestServer(dialect);
      try {
        a = (await server.palisade.compliance.evaluate()).zones.find((z) => z.zone.id === 'default')!;
        assert.deepEqual(a.slTarget, [2, 2, 2, 2, 2, 2, 2]);
        assert.deepEqual(a.slAchieved, EXPECTED.a.slAchieved);
        assert.deepEqual(blockers(a), EXPECTED.a.blockers);
        // The first administrator still holds the one-time password printed at first start.
        assert.match(
          result(a, 'SR 1.5').check.reason,
          /1 enabled account\(s\) still use their initial credential/,
        );
        assert.equal(result(a, 'SR 1.8').status, 'not-met', 'the generated certificate is self-signed');
        assert.match(result(a, 'SR 1.5 RE1').check.reason, /the key provider is keyfile/);
        assert.equal(
          result(a, 'SR 4.1 RE1').status,
          'met',
          'nothing recorded is unencrypted; secrets are sealed',
        );
        assert.equal(result(a, 'SR 7.8').status, 'met', 'the camera inventory is reported');
      } finally {
        await server.stop();
      }
    });

    describe('(b) hardened, then (c) with MFA relaxed for one role', () => {
      let server: TestServer;
      let idp: TestIdp;
      let admin: ApiClient;
      let second: ApiClient;

      before(async () => {
        ({ server, idp } = await hardenedServer(dialect));
        admin = (await signedInUser(server, 'alice.admin', [{ role: 'administrator', scope: 'all' }])).client;
        second = (await signedInUser(server, 'bob.admin', [{ role: 'administrator', scope: 'all' }])).client;
        await signedInUser(server, 'olga.operator', [{ role: 'operator', scope: 'zone:default' }]);
        await signedInUser(server, 'sam.security', [{ role: 'security-admin', scope: 'all' }]);
        // The generic first administrator is retired once named administrators exist.
        const users = await admin.get<{ id: string; username: string }[]>('/api/users');
        const generic = users.body.find((u) => u.username === 'admin')!;
        assert.equal((await admin.patch(`/api/users/${generic.id}`, { disabled: true })).status, 200);
        // Organisational requirements: statements by a named person, through the API.
        const officer = (
          await signedInUser(server, 'petra.officer', [{ role: 'security-admin', scope: 'all' }])
        ).client;
        for (const check of CHECKS.filter((x): x is AttestationCheck => x.kind === 'attestation')) {
          const noWireless = /^SR (1\.6|2\.2)/.test(check.requirement);
          const res = await officer.post('/api/compliance/attestations', {
            requirement: check.requirement,
            verdict: noWireless && check.notApplicableAllowed ? 'not-applicable' : 'met',
            statement: noWireless
              ? 'The control room has no wireless network.'
              : `Procedure for ${check.requirement} in the plant security manual, rev 3`,
            expiresAt: new Date(Date.now() + YEAR).toISOString(),
          });
          assert.equal(res.status, 201, JSON.stringify(res.body));
        }
        const cm = await officer.post('/api/compliance/countermeasures', {
          requirement: 'SR 1.9 RE1',
          description:
            'Operator access terminates TLS on the HSM-backed reverse proxy RP-1; Palisade is reachable only from RP-1',
          expiresAt: new Date(Date.now() + YEAR).toISOString(),
        });
        assert.equal(cm.status, 201);
      });
      after(async () => {
        await server.stop();
        await idp.close();
      });

      it('(b) MFA for everyone, SSO with MFA evidence, session limit, dual approval, attestations', async () => {
        // An auditor's checkpoint request, as the server's periodic signer would do within a minute.
        await server.palisade.audit.signCheckpoint();
        b = (await server.palisade.compliance.evaluate()).zones.find((z) => z.zone.id === 'default')!;
        assert.deepEqual(b.slAchieved, EXPECTED.b.slAchieved);
        assert.deepEqual(b.compensated, EXPECTED.b.compensated);
        // SQLite lives beside the video, so the recorder's capacity warning covers the audit log too;
        // a PostgreSQL server's storage is its operator's to watch (SR 2.9 RE1 stays open).
        const expected = EXPECTED.b.blockers.map((fr, i) =>
          i === 1 && dialect.name === 'postgres' ? ['SR 2.1 RE3', 'SR 2.9 RE1', 'SR 2.11 RE1'] : fr,
        );
        assert.deepEqual(blockers(b), expected);
        for (const id of [
          'SR 1.1 RE2',
          'SR 1.1 RE3',
          'SR 2.7',
          'SR 2.1 RE4',
          'SR 1.5',
          'SR 1.8',
          'SR 1.1 RE1',
          'SR 1.7 RE1',
        ]) {
          assert.equal(result(b, id).status, 'met', `${id}: ${result(b, id).check.reason}`);
        }
        assert.equal(result(b, 'SR 1.9 RE1').basis, 'compensated');
        // An auditor downloads the evidence pack over the API; it verifies offline with the CLI alone.
        const pack = await admin.post('/api/compliance/pack');
        assert.equal(pack.status, 200);
        assert.equal(pack.headers['content-type'], 'application/zip');
        const zip = path.join(tempDir(), 'evidence.zip');
        writeFileSync(zip, pack.bytes);
        const verified = runCli(['compliance', 'verify', zip]);
        assert.equal(verified.status, 0, verified.stdout + verified.stderr);
        assert.match(verified.stdout, /OK: the pack is intact and signed/);
        // Evidence names the live source of each fact.
        assert.ok(result(b, 'SR 1.1 RE2').evidence.every((f) => f.source === 'identity'));
        explainChanges(a, b);
      });

      it('(c) MFA relaxed for the operator role (approved by a second administrator): SR 1.1 RE2 fails, naming the role, and joins the gap list', async () => {
        const change = await admin.patch<{ approval: { id: string } }>('/api/roles/operator', {
          mfaRequired: false,
        });
        assert.equal(change.status, 202, 'role changes wait for a second administrator');
        const approved = await second.post(`/api/approvals/${change.body.approval.id}/approve`);
        assert.equal(approved.status, 200, JSON.stringify(approved.body));
        c = (await server.palisade.compliance.evaluate()).zones.find((z) => z.zone.id === 'default')!;
        // SR 1.1 RE2 gates SL 3, and FR1 is already held at 2 by SR 1.5 RE1: the vector stays, and the
        // relaxed role joins what blocks SL 3.
        assert.deepEqual(c.slAchieved, EXPECTED.c.slAchieved);
        assert.deepEqual(blockers(c)[0], ['SR 1.1 RE2', 'SR 1.5 RE1'], 'a setting to change ranks first');
        const gap = c.gaps[0]!.next!.blockers.find((x) => x.requirement === 'SR 1.1 RE2')!;
        assert.equal(gap.reason, 'MFA is not required for role(s) operator');
        assert.equal(gap.remedy, 'require MFA for role(s) operator (remove them from the MFA exemptions)');
        const changed = b.results
          .filter((r) => r.status !== result(c, r.requirement).status)
          .map((r) => r.requirement);
        assert.deepEqual(changed, ['SR 1.1 RE2', 'SR 1.1 RE3']);
        explainChanges(b, c);
      });
    });
  });
}

/**
 * Exact expectations, observed and reviewed. What still blocks waits for modules that do not exist yet
 * (network, SIEM) or for features named in the gap list (hardware keys, supervisor
 * override, integrity alerts).
 */
const EXPECTED = {
  a: {
    slAchieved: [0, 0, 0, 2, 0, 1, 0],
    blockers: [
      ['SR 1.5', 'SR 1.4', 'SR 1.6', 'SR 1.13'],
      ['SR 2.2', 'SR 2.3'],
      ['SR 3.2', 'SR 3.3', 'SR 3.6'],
      ['SR 4.2 RE1'],
      ['SR 5.1', 'SR 5.2', 'SR 5.3', 'SR 5.4'],
      ['SR 6.2'],
      ['SR 7.3', 'SR 7.5', 'SR 7.6'],
    ],
  },
  b: {
    slAchieved: [2, 2, 2, 3, 0, 1, 2],
    compensated: [false, false, false, false, false, false, false],
    blockers: [
      // The key provider is a key file (not hardware).
      ['SR 1.5 RE1'],
      // No supervisor override; host time sync not observable on this machine.
      ['SR 2.1 RE3', 'SR 2.11 RE1'],
      ['SR 3.4 RE1'],
      ['SR 4.1 RE2'],
      ['SR 5.1', 'SR 5.2', 'SR 5.4'],
      ['SR 6.2'],
      ['SR 7.1 RE2'],
    ],
  },
  c: { slAchieved: [2, 2, 2, 3, 0, 1, 2] },
};

/** A server configured the hardened way: CA-issued certificate, OIDC requiring MFA evidence, dual approval. */
async function hardenedServer(dialect: DialectCase): Promise<{ server: TestServer; idp: TestIdp }> {
  const dir = tempDir();
  const issued = await issueServerCertificate('P-256');
  const files = {
    cert: path.join(dir, 'server.crt'),
    key: path.join(dir, 'server.key'),
    ca: path.join(dir, 'ca.pem'),
    secret: path.join(dir, 'oidc-secret'),
  };
  writeFileSync(files.cert, issued.certPem);
  writeFileSync(files.key, issued.keyPem, { mode: 0o600 });
  const idpTls = await ensureTlsMaterial({ dataDir: tempDir() });
  writeFileSync(files.ca, idpTls.certPem);
  const idp = await startTestIdp({
    tls: idpTls,
    redirectUri: 'https://localhost:8443/api/auth/oidc/callback',
    accounts: [{ sub: 'u-1', username: 'maria', name: 'Maria', groups: [], amr: ['pwd', 'otp'] }],
  });
  writeFileSync(files.secret, idp.clientSecret);
  const server = await startTestServer(
    dialect,
    {
      http: { port: 0, tls: { certFile: files.cert, keyFile: files.key } },
      identity: {
        session: { maxConcurrent: 2 },
        password: { maxAgeDays: 90 },
        oidc: {
          issuer: idp.issuer,
          clientId: idp.clientId,
          clientSecretFile: files.secret,
          caFile: files.ca,
          mfa: 'require-idp',
        },
      },
      access: {
        dualApproval: { actions: ['evidence.export', 'recording.delete', 'keys.kek.destroy', 'role.change'] },
      },
    },
    issued.caPem,
  );
  return { server, idp };
}
