import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RouteOptions } from 'fastify';
import { openTestAuditLog, sampleEvent } from '../../test/support/audit.js';
import { DIALECTS } from '../../test/support/dialects.js';
import { tempDir } from '../../test/support/tmp.js';
import { buildHttpServer, ensureTlsMaterial } from '../http/index.js';
import { createLogger } from '../log/index.js';
import { openCheckpoint } from './checkpoint.js';
import { parseVerifierKey } from './note.js';
import { verifyConsistency, verifyInclusion } from './proof.js';
import { auditRoutes } from './routes.js';
import { verifyExport } from './export.js';

describe('audit HTTP routes (plugin on its own server)', () => {
  it('serve events, checkpoints and proofs that verify, audit every read, and document themselves', async () => {
    const t = await DIALECTS[0]!.create();
    const log = await openTestAuditLog(t.database, t.dataDir);
    for (let i = 0; i < 30; i++) await log.append(sampleEvent(i));
    const routes: RouteOptions[] = [];
    const app = await buildHttpServer({
      tls: await ensureTlsMaterial({ dataDir: tempDir() }),
      logger: createLogger('silent'),
      version: '0.0.0-test',
      bodyLimitBytes: 4096,
      rateLimit: { max: 10_000, windowMs: 60_000 },
      readiness: [],
      // Stands in for identity + access; this test is about the routes, the guard has its own tests.
      guard: async () => undefined,
      routes: [
        async (instance) => {
          instance.addHook('onRoute', (r) => void routes.push(r));
          await instance.register(auditRoutes, {
            log,
            // Stands in for the authentication hook that issue 4 puts in front.
            actorOf: (request) => ({
              type: 'user',
              id: String(request.headers['x-test-user']),
              auth: 'test',
            }),
            workDir: tempDir(),
          });
        },
      ],
    });
    const get = async (url: string, method: 'GET' | 'POST' = 'GET') => {
      const res = await app.inject({ method, url, headers: { 'x-test-user': 'auditor-1' } });
      return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
    };
    try {
      assert.ok(routes.length >= 6);
      for (const r of routes) {
        assert.deepEqual(
          r.config,
          { access: { permission: 'audit.read' } },
          `${String(r.method)} ${r.url} requires audit.read`,
        );
      }

      const none = await get('/api/audit/checkpoint');
      assert.equal(none.status, 404);
      assert.deepEqual(Object.keys(none.body), ['error']);

      const page = await get('/api/audit/events?actionPrefix=camera.onboard&outcome=failure&limit=3');
      assert.equal(page.status, 200);
      const events = page.body.events as { index: number; event: { action: string; reason: string } }[];
      assert.equal(events.length, 3);
      assert.ok(
        events.every((e) => e.event.action === 'camera.onboard.rejected' && e.event.reason.length > 0),
      );
      assert.equal(typeof page.body.nextCursor, 'string');
      const next = await get(
        `/api/audit/events?actionPrefix=camera.onboard&outcome=failure&limit=3&cursor=${String(page.body.nextCursor)}`,
      );
      assert.ok((next.body.events as { index: number }[])[0]!.index > events[2]!.index);

      const readBack = await log.query({ actionPrefix: 'audit.queried', limit: 10 });
      assert.equal(readBack.events.length, 2, 'both reads were audited');
      assert.equal(readBack.events[0]!.event.actor.id, 'auditor-1');
      assert.equal(readBack.events[0]!.event.actor.address, '127.0.0.1');

      const one = await get('/api/audit/events/4');
      assert.equal(one.status, 200);
      assert.match(String(one.body.leafHash), /^[0-9a-f]{64}$/);
      assert.equal((await get('/api/audit/events/100000')).status, 404);

      assert.equal((await get('/api/audit/events?limit=0')).status, 400);
      const badCursor = await get('/api/audit/events?cursor=nonsense');
      assert.equal(badCursor.status, 400);
      assert.equal((badCursor.body.error as { code: string }).code, 'AUDIT_QUERY_INVALID');

      const signed = await get('/api/audit/checkpoint', 'POST');
      assert.equal(signed.status, 200);
      const key = parseVerifierKey(String(signed.body.verifierKey));
      const checkpoint = openCheckpoint(String(signed.body.note), [key], log.origin);
      assert.equal(checkpoint.size, signed.body.size);
      assert.equal(checkpoint.rootHash.toString('hex'), signed.body.rootHash);
      assert.deepEqual((await get('/api/audit/checkpoint')).body, signed.body);

      const inclusion = await get('/api/audit/proofs/inclusion?index=7');
      assert.equal(inclusion.status, 200);
      assert.equal(inclusion.body.treeSize, checkpoint.size);
      verifyInclusion(
        7,
        checkpoint.size,
        Buffer.from(String(inclusion.body.leafHash), 'hex'),
        (inclusion.body.proof as string[]).map((h) => Buffer.from(h, 'hex')),
        checkpoint.rootHash,
      );
      const consistency = await get(`/api/audit/proofs/consistency?from=10&to=${checkpoint.size}`);
      assert.equal(consistency.status, 200);
      verifyConsistency(
        10,
        checkpoint.size,
        Buffer.from(String(consistency.body.root1), 'hex'),
        checkpoint.rootHash,
        (consistency.body.proof as string[]).map((h) => Buffer.from(h, 'hex')),
      );
      const outside = await get('/api/audit/proofs/inclusion?index=5&treeSize=5');
      assert.equal(outside.status, 400);
      assert.equal((outside.body.error as { code: string }).code, 'MERKLE_PROOF_UNAVAILABLE');

      const doc = (await app.inject({ url: '/api/openapi.json' })).json<{ paths: Record<string, unknown> }>();
      for (const p of [
        '/api/audit/events',
        '/api/audit/events/{index}',
        '/api/audit/checkpoint',
        '/api/audit/proofs/inclusion',
        '/api/audit/proofs/consistency',
      ]) {
        assert.ok(p in doc.paths, `${p} is in the OpenAPI document`);
      }
      const report = await log.verify();
      assert.equal(report.ok, true);
    } finally {
      await app.close();
      await log.close();
      await t.drop();
    }
  });

  it('verify on request (plain and streamed with progress) and an export downloaded as a tar that verifies offline', async () => {
    const t = await DIALECTS[0]!.create();
    const log = await openTestAuditLog(t.database, t.dataDir);
    for (let i = 0; i < 40; i++) await log.append(sampleEvent(i));
    const app = await buildHttpServer({
      tls: await ensureTlsMaterial({ dataDir: tempDir() }),
      logger: createLogger('silent'),
      version: '0.0.0-test',
      bodyLimitBytes: 4096,
      rateLimit: { max: 10_000, windowMs: 60_000 },
      readiness: [],
      guard: async () => undefined,
      routes: [
        async (instance) =>
          instance.register(auditRoutes, {
            log,
            actorOf: (request) => ({
              type: 'user',
              id: String(request.headers['x-test-user']),
              auth: 'test',
            }),
            workDir: tempDir(),
          }),
      ],
    });
    const as = (user: string, accept = 'application/json') => ({
      'x-test-user': user,
      accept,
      'content-type': 'application/json',
    });
    try {
      const plain = await app.inject({
        method: 'POST',
        url: '/api/audit/verify',
        headers: as('a'),
        body: '{}',
      });
      assert.equal(plain.statusCode, 200);
      const report = plain.json<{ report: { ok: boolean; entries: number; treeSize: number } }>().report;
      assert.equal(report.ok, true);
      assert.ok(report.entries >= 40 && report.treeSize === report.entries);

      const streamed = await app.inject({
        method: 'POST',
        url: '/api/audit/verify',
        headers: as('a', 'application/x-ndjson'),
        body: '{}',
      });
      assert.match(String(streamed.headers['content-type']), /application\/x-ndjson/);
      const lines = streamed.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, { done?: number; total?: number; ok?: boolean }>);
      assert.ok(lines[0]!.progress, 'the first line says how much there is to do');
      assert.ok(lines[0]!.progress.total! > 40);
      assert.equal(lines.at(-1)!.report!.ok, true);
      const verified = await log.query({ actionPrefix: 'audit.verified' });
      assert.equal(verified.events.length, 2, 'each verification is audited');
      assert.equal(verified.events[0]!.event.outcome, 'success');

      const prepared = await app.inject({
        method: 'POST',
        url: '/api/audit/exports',
        headers: as('auditor-1', 'application/x-ndjson'),
        body: '{}',
      });
      const last = JSON.parse(prepared.body.trim().split('\n').at(-1)!) as {
        export: { download: string; bytes: number; treeSize: number; fileName: string };
      };
      assert.match(last.export.download, /^\/api\/audit\/exports\/[0-9a-f-]{36}$/);
      assert.equal(
        (await app.inject({ url: last.export.download, headers: as('someone-else') })).statusCode,
        404,
        'only the person who prepared an export downloads it',
      );
      const tar = await app.inject({ url: last.export.download, headers: as('auditor-1') });
      assert.equal(tar.statusCode, 200);
      assert.equal(tar.headers['content-type'], 'application/x-tar');
      assert.match(
        String(tar.headers['content-disposition']),
        /attachment; filename="palisade-audit-export-\d+\.tar"/,
      );
      assert.equal(tar.rawPayload.length, last.export.bytes, 'the announced length is exact');

      // The system's own tar reads the archive, and the extracted folder verifies offline.
      const out = tempDir();
      const tarFile = path.join(out, last.export.fileName);
      await import('node:fs/promises').then((fs) => fs.writeFile(tarFile, tar.rawPayload));
      const untar = spawnSync('tar', ['-xf', tarFile, '-C', out], { encoding: 'utf8' });
      assert.equal(untar.status, 0, untar.stderr);
      const folder = path.join(out, last.export.fileName.replace(/\.tar$/, ''));
      assert.deepEqual(readdirSync(folder).sort(), [
        'README.txt',
        'checkpoint',
        'checkpoints.jsonl',
        'entries.jsonl',
        'log.json',
      ]);
      const offline = await verifyExport(folder);
      assert.equal(offline.ok, true, JSON.stringify(offline.failure));
      assert.equal(offline.treeSize, last.export.treeSize);
      const exported = await log.query({ actionPrefix: 'audit.exported' });
      assert.equal(exported.events.length, 1);
      assert.ok(exported.events[0]!.index < last.export.treeSize, 'the export covers its own request');
    } finally {
      await app.close();
      await log.close();
      await t.drop();
    }
  });
});
