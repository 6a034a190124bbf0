import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../test/support/tmp.js';
import { LocalBlobStore } from './index.js';

describe('local blob store', () => {
  it('keeps a blob invisible until commit, then atomically visible; pending blobs survive for recovery', async () => {
    const root = tempDir();
    const store = await LocalBlobStore.open(root);
    const w = await store.create('cameras/c1/2026-01-01/s1.pseg');
    await w.append([Buffer.from('abc'), Buffer.from('def')]);
    assert.equal(await store.stat('cameras/c1/2026-01-01/s1.pseg'), undefined, 'not visible before commit');
    assert.deepEqual(await store.pending(), ['cameras/c1/2026-01-01/s1.pseg']);
    await w.close();
    const again = await store.resume('cameras/c1/2026-01-01/s1.pseg');
    assert.equal(again.size, 6);
    await again.truncate(4);
    await again.append([Buffer.from('XY')]);
    const info = await again.commit();
    assert.equal(info.size, 6);
    const src = await store.open('cameras/c1/2026-01-01/s1.pseg');
    assert.equal((await src.read(0, 100)).toString(), 'abcdXY');
    await src.close();
    assert.deepEqual(await store.pending(), []);
    const keys: string[] = [];
    for await (const b of store.list('cameras/c1')) keys.push(b.key);
    assert.deepEqual(keys, ['cameras/c1/2026-01-01/s1.pseg']);
    assert.equal(await store.delete('cameras/c1/2026-01-01/s1.pseg'), true);
    assert.equal(await store.delete('cameras/c1/2026-01-01/s1.pseg'), false);
    assert.deepEqual(readdirSync(path.join(root, 'pending')), []);
  });

  it('refuses keys that could escape the store, and a second writer of one key', async () => {
    const store = await LocalBlobStore.open(tempDir());
    for (const bad of ['../x', 'a/../b', '/abs', 'a//b', '', 'a/.', 'x'.repeat(600), 'sp ace']) {
      await assert.rejects(store.create(bad), { code: 'STORAGE_KEY_INVALID' }, bad);
    }
    const w = await store.create('a/b');
    await assert.rejects(store.create('a/b'), { code: 'STORAGE_CONFLICT' });
    await w.abort();
    assert.deepEqual(await store.pending(), []);
    await assert.rejects(store.open('a/b'), { code: 'STORAGE_NOT_FOUND' });
  });

  it('reports the capacity of the file system it lives on', async () => {
    const store = await LocalBlobStore.open(tempDir());
    const c = await store.capacity();
    assert.ok(c.totalBytes > 0 && c.availableBytes > 0 && c.availableBytes <= c.totalBytes);
  });
});
