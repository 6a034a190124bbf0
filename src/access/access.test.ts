import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from '../../test/support/dialects.js';
import { identityWorld, type IdentityWorld } from '../../test/support/identity-world.js';
import { PalisadeError } from '../errors/index.js';
import { BUILTIN_ROLES, decide, type Resource, type Subject } from './index.js';

const camera = (zoneId: string, siteId = 'plant-a', groupIds: string[] = []): Resource => ({
  kind: 'camera',
  id: `cam-${zoneId}`,
  zoneId,
  siteId,
  groupIds,
});

function subjectWith(
  grants: { roleId: string; scope: Subject['grants'][number]['scope'] }[],
  tokenPermissions?: string[],
): Subject {
  return {
    userId: 'u1',
    username: 'u1',
    kind: 'human',
    auth: 'test',
    address: '127.0.0.1',
    tokenPermissions: tokenPermissions && new Set(tokenPermissions as never[]),
    grants: grants.map((g, i) => ({
      grantId: `g${i}`,
      roleId: g.roleId,
      scope: g.scope,
      permissions: new Set(BUILTIN_ROLES.find((r) => r.id === g.roleId)!.permissions),
    })),
  };
}

describe('decide', () => {
  it('denies by default: no grant, no access', () => {
    const d = decide(subjectWith([]), 'video.live', camera('z1'));
    assert.equal(d.allowed, false);
    assert.match(d.reason, /no role grants video\.live/);
  });

  it('scopes: zone, site and camera group cover exactly their cameras', () => {
    const zoneViewer = subjectWith([{ roleId: 'viewer', scope: { kind: 'zone', id: 'z1' } }]);
    assert.equal(decide(zoneViewer, 'video.live', camera('z1')).allowed, true);
    assert.equal(decide(zoneViewer, 'video.live', camera('z2')).allowed, false);
    assert.equal(
      decide(zoneViewer, 'video.playback', camera('z1')).allowed,
      false,
      'viewers do not play back',
    );

    const siteOperator = subjectWith([{ roleId: 'operator', scope: { kind: 'site', id: 'plant-a' } }]);
    assert.equal(decide(siteOperator, 'video.playback', camera('z9', 'plant-a')).allowed, true);
    assert.equal(decide(siteOperator, 'video.playback', camera('z9', 'plant-b')).allowed, false);

    const group = subjectWith([{ roleId: 'viewer', scope: { kind: 'camera-group', id: 'gates' } }]);
    assert.equal(decide(group, 'video.live', camera('z1', 'plant-a', ['gates'])).allowed, true);
    assert.equal(decide(group, 'video.live', camera('z1', 'plant-a', ['docks'])).allowed, false);
    assert.equal(decide(group, 'zone.view', { kind: 'zone', id: 'z1', siteId: 'plant-a' }).allowed, false);
  });

  it('system-wide actions need an all-scope grant; listings need the permission somewhere', () => {
    const zoneAdmin = subjectWith([{ roleId: 'engineer', scope: { kind: 'zone', id: 'z1' } }]);
    assert.equal(decide(zoneAdmin, 'zone.manage', 'system').allowed, false);
    assert.equal(decide(zoneAdmin, 'zone.manage', 'some').allowed, true);
    const auditor = subjectWith([{ roleId: 'auditor', scope: { kind: 'all' } }]);
    assert.equal(decide(auditor, 'audit.read', 'system').allowed, true);
  });

  it('an API token narrows its account’s permissions', () => {
    const admin = subjectWith([{ roleId: 'administrator', scope: { kind: 'all' } }], ['camera.view']);
    assert.equal(decide(admin, 'camera.view', camera('z1')).allowed, true);
    assert.equal(decide(admin, 'users.manage', 'system').allowed, false);
  });

  it('separation of duties: auditors are read-only, administrators do not hold the keys', () => {
    const auditor = BUILTIN_ROLES.find((r) => r.id === 'auditor')!;
    assert.ok(
      auditor.permissions.every((p) => p.endsWith('.read') || p.endsWith('.view')),
      auditor.permissions.join(),
    );
    const admin = BUILTIN_ROLES.find((r) => r.id === 'administrator')!;
    assert.ok(!admin.permissions.includes('keys.manage'));
  });
});

for (const dialect of DIALECTS) {
  describe(`roles, grants and dual approval on ${dialect.name}`, { skip: dialect.skip }, () => {
    let w: IdentityWorld;
    let alice: Subject;
    let bob: Subject;
    before(async () => {
      w = await identityWorld(dialect, {}, ['role.change']);
      const a = await w.identity.accounts.create({ username: 'alice', displayName: 'Alice', kind: 'human' });
      const b = await w.identity.accounts.create({ username: 'bob', displayName: 'Bob', kind: 'human' });
      for (const u of [a, b])
        await w.access.store.addGrant({
          userId: u.id,
          roleId: 'administrator',
          scope: { kind: 'all' },
          createdBy: 'test',
        });
      const sub = (id: string, name: string) =>
        w.access.subject({ userId: id, username: name, kind: 'human', auth: 'test', address: '127.0.0.1' });
      alice = await sub(a.id, 'alice');
      bob = await sub(b.id, 'bob');
    });
    after(() => w.close());

    it('with role.change under dual approval, a grant waits for a second administrator, then applies', async () => {
      const carol = await w.identity.accounts.create({
        username: 'carol',
        displayName: 'Carol',
        kind: 'human',
      });
      const outcome = await w.access.addGrant(alice, {
        userId: carol.id,
        roleId: 'operator',
        scope: 'zone:default',
      });
      assert.ok('pending' in outcome);
      assert.deepEqual(await w.access.store.grants(carol.id), [], 'nothing applied before approval');
      await assert.rejects(
        w.access.approvals.approve(outcome.pending.id, alice),
        (e: unknown) => e instanceof PalisadeError && e.code === 'APPROVAL_SELF',
      );
      const approved = await w.access.approvals.approve(outcome.pending.id, bob);
      assert.equal(approved.status, 'approved');
      const grants = await w.access.store.grants(carol.id);
      assert.equal(grants.length, 1);
      assert.deepEqual(grants[0]!.scope, { kind: 'zone', id: 'default' });
      const actions = w.audit.actions();
      assert.ok(actions.indexOf('approval.requested') < actions.indexOf('approval.approved'));
      assert.ok(actions.indexOf('approval.approved') < actions.indexOf('grant.added'));
      assert.equal(w.audit.events.find((e) => e.action === 'grant.added')!.details!.approvedBy, bob.userId);
    });

    it('granting oneself key management always needs a second administrator', async () => {
      const w2 = await identityWorld(dialect, {}, []);
      try {
        const a = await w2.identity.accounts.create({
          username: 'root-ish',
          displayName: 'A',
          kind: 'human',
        });
        await w2.access.store.addGrant({
          userId: a.id,
          roleId: 'administrator',
          scope: { kind: 'all' },
          createdBy: 'test',
        });
        const me = await w2.access.subject({
          userId: a.id,
          username: 'root-ish',
          kind: 'human',
          auth: 'test',
          address: '127.0.0.1',
        });
        const self = await w2.access.addGrant(me, { userId: a.id, roleId: 'security-admin', scope: 'all' });
        assert.ok('pending' in self, 'self-grant of keys.manage is not applied directly');
        const other = await w2.identity.accounts.create({
          username: 'someone',
          displayName: 'S',
          kind: 'human',
        });
        const direct = await w2.access.addGrant(me, { userId: other.id, roleId: 'operator', scope: 'all' });
        assert.ok('done' in direct, 'without the policy, ordinary grants apply at once');
      } finally {
        await w2.close();
      }
    });

    it('rejects system-wide roles on a narrow scope and unknown permissions', async () => {
      const dave = await w.identity.accounts.create({ username: 'dave', displayName: 'Dave', kind: 'human' });
      await assert.rejects(
        w.access.store.addGrant({
          userId: dave.id,
          roleId: 'auditor',
          scope: { kind: 'zone', id: 'default' },
          createdBy: 'test',
        }),
        (e: unknown) => e instanceof PalisadeError && e.code === 'GRANT_SCOPE_INVALID',
      );
      await assert.rejects(
        w.access.store.createRole({ id: 'x', name: 'X', description: '', permissions: ['video.teleport'] }),
        (e: unknown) => e instanceof PalisadeError && e.code === 'PERMISSION_UNKNOWN',
      );
    });

    it('MFA can be relaxed per role only, and only when every role of the user is relaxed', async () => {
      const erin = await w.identity.accounts.create({ username: 'erin', displayName: 'Erin', kind: 'human' });
      await w.access.store.addGrant({
        userId: erin.id,
        roleId: 'viewer',
        scope: { kind: 'all' },
        createdBy: 'test',
      });
      assert.equal(await w.access.store.mfaRequiredFor(erin.id), true);
      await w.access.store.updateRole('viewer', { mfaRequired: false });
      assert.equal(await w.access.store.mfaRequiredFor(erin.id), false);
      await w.access.store.addGrant({
        userId: erin.id,
        roleId: 'operator',
        scope: { kind: 'all' },
        createdBy: 'test',
      });
      assert.equal(await w.access.store.mfaRequiredFor(erin.id), true);
      await w.access.store.updateRole('viewer', { mfaRequired: true });
      await assert.rejects(
        w.access.store.updateRole('viewer', { permissions: ['video.live'] }),
        (e: unknown) => e instanceof PalisadeError && e.code === 'ROLE_BUILT_IN',
      );
    });

    it('denials are audited with the reason', async () => {
      const viewer = await w.identity.accounts.create({ username: 'vic', displayName: 'Vic', kind: 'human' });
      await w.access.store.addGrant({
        userId: viewer.id,
        roleId: 'viewer',
        scope: { kind: 'zone', id: 'default' },
        createdBy: 'test',
      });
      const s = await w.access.subject({
        userId: viewer.id,
        username: 'vic',
        kind: 'human',
        auth: 'test',
        address: '10.0.0.5',
      });
      const d = await w.access.authorize(s, 'video.live', camera('other-zone'), 'GET /x');
      assert.equal(d.allowed, false);
      const e = w.audit.events.at(-1)!;
      assert.equal(e.action, 'access.denied');
      assert.equal(e.actor.id, viewer.id);
      assert.equal(e.target?.zone, 'other-zone');
      assert.match(e.reason!, /zone:default/);
    });
  });
}
