import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import { keyError } from './errors.js';
import { createDataKey, isUniqueViolation, now, openDataKey, type KeysContext } from './data-keys.js';
import type { ActionContext } from './events.js';
import { SealedObjectReader, bufferSource } from './segment-open.js';
import { SegmentSealer } from './segment-seal.js';
import type { KeysTables } from './tables.js';

/** A stored secret as anyone may see it: never its value. */
export interface SecretInfo {
  id: string;
  name: string;
  /** What it is, e.g. `camera-credential`, `oidc-client-secret`, `siem-token`. */
  kind: string;
  /** The KEK (zone) its data key is wrapped by. */
  kekId: string;
  createdAt: string;
}

export interface NewSecret {
  /** Unique, e.g. `camera/cam-north-7/onvif`. */
  name: string;
  kind: string;
  value: string | Uint8Array;
  /** Default `system`. Camera credentials belong in the camera's zone. */
  kekId?: string;
}

export const MAX_SECRET_BYTES = 64 * 1024;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$/;
const KIND_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;
const SECRET_CHUNK = 64 * 1024;

/**
 * Secrets at rest, each sealed in the segment format under its own data key wrapped by a zone KEK, so
 * rotation and crypto-shredding cover them like video. The value goes in once (`create`) and comes out
 * only through `open`, for the component that must use it (connecting to a camera, the IdP, a SIEM);
 * nothing here logs it or returns it in a listing, and the audit events name the secret, not its value.
 */
export class SecretStore {
  readonly #ctx: KeysContext;

  constructor(ctx: KeysContext) {
    this.#ctx = ctx;
  }

  async create(input: NewSecret, action: ActionContext = {}): Promise<SecretInfo> {
    if (!NAME_PATTERN.test(input.name))
      throw keyError('SECRET_INVALID', `"${input.name}" is not a valid secret name`);
    if (!KIND_PATTERN.test(input.kind))
      throw keyError('SECRET_INVALID', `"${input.kind}" is not a valid secret kind`);
    const owned = typeof input.value === 'string';
    const value = typeof input.value === 'string' ? Buffer.from(input.value, 'utf8') : input.value;
    try {
      if (value.length === 0 || value.length > MAX_SECRET_BYTES) {
        throw keyError('SECRET_INVALID', `a secret is 1 to ${MAX_SECRET_BYTES} bytes`);
      }
      const taken = await this.#ctx.db
        .selectFrom('key_secret')
        .select('secret_id')
        .where('name', '=', input.name)
        .executeTakeFirst();
      if (taken) throw keyError('SECRET_EXISTS', `a secret named "${input.name}" already exists`);

      const id = randomUUID();
      const kekId = input.kekId ?? 'system';
      const { dek } = await createDataKey(this.#ctx, objectIdOf(id), kekId);
      let sealed: Buffer;
      try {
        const sealer = new SegmentSealer(dek, { objectId: objectIdOf(id), chunkSize: SECRET_CHUNK });
        sealed = Buffer.concat([...sealer.update(value), ...sealer.final()]);
      } finally {
        dek.fill(0);
      }
      const row = {
        secret_id: id,
        name: input.name,
        kind: input.kind,
        kek_id: kekId,
        sealed,
        created_at: now(),
      };
      try {
        await this.#ctx.db.insertInto('key_secret').values(row).execute();
      } catch (err) {
        await this.#ctx.db.deleteFrom('key_data_key').where('object_id', '=', objectIdOf(id)).execute();
        if (isUniqueViolation(err))
          throw keyError('SECRET_EXISTS', `a secret named "${input.name}" already exists`);
        throw err;
      }
      const info = toInfo(row);
      await this.#ctx.audit({
        action: 'secret.created',
        outcome: 'success',
        ...action,
        target: { type: 'secret', id, zone: kekId },
        details: { name: info.name, kind: info.kind, kekId },
      });
      return info;
    } finally {
      if (owned) value.fill(0);
    }
  }

  /** The secret's value. The caller wipes the buffer (`fill(0)`) once it has used it. */
  async open(idOrName: string): Promise<Buffer> {
    const row = await this.#row(idOrName);
    const dek = await openDataKey(this.#ctx, objectIdOf(row.secret_id));
    try {
      const reader = await SealedObjectReader.open(bufferSource(row.sealed), dek, {
        objectId: objectIdOf(row.secret_id),
        cameraId: '',
      });
      return await reader.read(0, reader.size);
    } finally {
      dek.fill(0);
    }
  }

  async info(idOrName: string): Promise<SecretInfo> {
    return toInfo(await this.#row(idOrName));
  }

  async list(): Promise<SecretInfo[]> {
    const rows = await this.#ctx.db
      .selectFrom('key_secret')
      .select(['secret_id', 'name', 'kind', 'kek_id', 'created_at'])
      .orderBy('name')
      .execute();
    return rows.map(toInfo);
  }

  /** Deletes the secret and destroys its data key, so copies of the sealed bytes in backups stay shut. */
  async delete(idOrName: string, action: ActionContext = {}): Promise<void> {
    const row = await this.#row(idOrName);
    const stamp = now();
    await this.#ctx.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('key_data_key')
        .set({ wrapped: null, destroyed_at: stamp })
        .where('object_id', '=', objectIdOf(row.secret_id))
        .execute();
      await trx.deleteFrom('key_secret').where('secret_id', '=', row.secret_id).execute();
    });
    await this.#ctx.audit({
      action: 'secret.deleted',
      outcome: 'success',
      ...action,
      target: { type: 'secret', id: row.secret_id, zone: row.kek_id },
      details: { name: row.name, kind: row.kind },
    });
  }

  async #row(idOrName: string): Promise<Selectable<KeysTables['key_secret']>> {
    const row = await this.#ctx.db
      .selectFrom('key_secret')
      .selectAll()
      .where((eb) => eb.or([eb('secret_id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    if (!row) throw keyError('SECRET_NOT_FOUND', `no secret "${idOrName}"`);
    return row;
  }
}

/** Secrets share the data-key table with video; their object ids carry a prefix of their own. */
export function objectIdOf(secretId: string): string {
  return `secret:${secretId}`;
}

function toInfo(row: {
  secret_id: string;
  name: string;
  kind: string;
  kek_id: string;
  created_at: string;
}): SecretInfo {
  return { id: row.secret_id, name: row.name, kind: row.kind, kekId: row.kek_id, createdAt: row.created_at };
}
