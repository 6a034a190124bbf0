import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BUILTIN_ROLES } from '../src/access/index.js';
import type { ApiClient } from './support/api-client.js';
import { DIALECTS } from './support/dialects.js';
import { signedInUser, startTestServer, type TestServer } from './support/server.js';

interface Access {
  public?: boolean;
  authenticated?: boolean;
  steps?: string[];
  permission?: string;
  target?: 'system' | 'some' | 'resource';
}

interface Operation {
  method: string;
  path: string;
  access: Access;
}

/** Routes whose successful call would end the caller's own session; checked unauthenticated only. */
const SESSION_ENDING = new Set(['POST /api/auth/logout', 'POST /api/auth/password']);

function operations(doc: { paths: Record<string, Record<string, { 'x-access'?: Access }>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      ops.push({ method: method.toUpperCase(), path, access: op['x-access'] ?? {} });
    }
  }
  return ops;
}

/** Fills path parameters: zone ids get the zone under test, everything else a well-formed unknown id. */
function concrete(path: string, zone: string): string {
  return path.replace(
    /\{id\}/g,
    path.startsWith('/api/zones') ? zone : '00000000-0000-4000-8000-000000000000',
  );
}

for (const dialect of DIALECTS) {
  describe(`authorization walk over the OpenAPI document on ${dialect.name}`, { skip: dialect.skip }, () => {
    let server: TestServer;
    let ops: Operation[];
    const users = new Map<string, ApiClient>();

    before(async () => {
      server = await startTestServer(dialect);
      await server.palisade.zones.createSite({ id: 'plant-b', name: 'Plant B', description: '' });
      await server.palisade.zones.createZone({
        id: 'other',
        siteId: 'plant-b',
        name: 'Other',
        description: '',
        slTarget: [1, 1, 1, 1, 1, 1, 1],
      });
      // Each person at their own workstation (loopback address): the walk sends more requests per
      // minute than the per-address rate limit allows one machine.
      for (const [i, role] of BUILTIN_ROLES.entries()) {
        users.set(
          role.id,
          (await signedInUser(server, `u-${role.id}`, [{ role: role.id, scope: 'all' }], `127.0.0.${10 + i}`))
            .client,
        );
      }
      users.set(
        'zone-viewer',
        (await signedInUser(server, 'u-zone-viewer', [{ role: 'viewer', scope: 'zone:other' }], '127.0.0.99'))
          .client,
      );
      const doc = await users
        .get('administrator')!
        .get<Parameters<typeof operations>[0]>('/api/openapi.json');
      assert.equal(doc.status, 200);
      ops = operations(doc.body);
    });
    after(() => server.stop());

    async function deniedCount(): Promise<number> {
      let n = 0;
      let cursor: string | undefined;
      do {
        const page = await server.palisade.audit.query({
          actionPrefix: 'access.denied',
          limit: 1000,
          ...(cursor && { cursor }),
        });
        n += page.events.length;
        cursor = page.nextCursor;
      } while (cursor);
      return n;
    }

    it('every operation declares its access rule', () => {
      assert.ok(ops.length >= 40, `only ${ops.length} operations documented`);
      for (const op of ops) {
        const a = op.access;
        assert.ok(
          a.public || a.authenticated || a.steps || a.permission,
          `${op.method} ${op.path} declares no access`,
        );
      }
    });

    it('nothing but health, the sign-in flow and the OIDC callback answers without authentication; every refusal is audited', async () => {
      const publicOps = ops
        .filter((o) => o.access.public)
        .map((o) => `${o.method} ${o.path}`)
        .sort();
      assert.deepEqual(publicOps, [
        'GET /api/auth/config',
        'GET /api/auth/oidc/callback',
        'GET /api/auth/oidc/start',
        'GET /healthz',
        'GET /readyz',
        'POST /api/auth/login',
      ]);
      const anonymous = server.client();
      for (const op of ops.filter((o) => !o.access.public)) {
        const before = await deniedCount();
        const res = await anonymous.request(
          op.method,
          concrete(op.path, 'default'),
          ['GET', 'DELETE'].includes(op.method) ? undefined : {},
        );
        assert.equal(res.status, 401, `${op.method} ${op.path} without credentials`);
        assert.equal(await deniedCount(), before + 1, `${op.method} ${op.path}: the refusal is audited`);
      }
    });

    it('each built-in role reaches exactly what its permissions grant; every 403 is audited', async () => {
      for (const role of BUILTIN_ROLES) {
        const client = users.get(role.id)!;
        for (const op of ops.filter(
          (o) => !o.access.public && !SESSION_ENDING.has(`${o.method} ${o.path}`),
        )) {
          const a = op.access;
          const allowed =
            a.permission === undefined ? true : role.permissions.includes(a.permission as never);
          const before = await deniedCount();
          const res = await client.request(
            op.method,
            concrete(op.path, 'default'),
            ['GET', 'DELETE'].includes(op.method) ? undefined : {},
          );
          const label = `${role.id}: ${op.method} ${op.path} -> ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
          if (allowed) {
            assert.ok(res.status !== 401 && res.status !== 403, label);
          } else {
            assert.equal(res.status, 403, label);
            assert.equal(await deniedCount(), before + 1, `${label}: audited`);
          }
        }
      }
    });

    it('a user scoped to another zone is refused everything outside it, and audited', async () => {
      const client = users.get('zone-viewer')!;
      const viewer = BUILTIN_ROLES.find((r) => r.id === 'viewer')!;
      for (const op of ops.filter((o) => o.access.permission !== undefined)) {
        const a = op.access;
        const has = viewer.permissions.includes(a.permission as never);
        // Inside its grant only: a listing (filtered by scope) or the zone it is scoped to.
        const allowed = has && (a.target === 'some' || a.target === 'resource');
        const before = await deniedCount();
        const res = await client.request(
          op.method,
          concrete(op.path, 'default'),
          ['GET', 'DELETE'].includes(op.method) ? undefined : {},
        );
        const label = `zone-viewer: ${op.method} ${op.path} (zone default)`;
        if (allowed && a.target === 'some')
          assert.ok(res.status !== 401 && res.status !== 403, `${label} -> ${res.status}`);
        else {
          assert.equal(res.status, 403, `${label} -> ${res.status}`);
          assert.equal(await deniedCount(), before + 1, `${label}: audited`);
        }
      }
      const own = await client.get<{ id: string }>('/api/zones/other');
      assert.equal(own.status, 200);
      const listed = await client.get<{ id: string }[]>('/api/zones');
      assert.deepEqual(
        listed.body.map((z) => z.id),
        ['other'],
        'listings show only the zone in scope',
      );
    });
  });
}
