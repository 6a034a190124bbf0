import type { Kysely } from 'kysely';
import type { FoundationTables } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import type { AuditEvent, AuditOutcome } from './event.js';
import type { AuditTables, TlogTables } from './schema.js';

/** What an auditor can filter on. All filters combine with AND. */
export interface AuditQuery {
  /** Earliest event time, inclusive: ISO 8601 or milliseconds since the epoch. */
  from?: string | number;
  /** Latest event time, exclusive. */
  to?: string | number;
  actorId?: string;
  /** `auth` matches `auth` and `auth.*`; `auth.login.` matches everything below `auth.login`. */
  actionPrefix?: string;
  targetType?: string;
  targetId?: string;
  zone?: string;
  outcome?: AuditOutcome;
  /** Page size, 1..1000 (default 100). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Log order (`asc`, the default) or newest first (`desc`). */
  order?: 'asc' | 'desc';
}

export interface AuditPage {
  events: { index: number; event: AuditEvent }[];
  /** Present when more events match; pass it back as `cursor`. */
  nextCursor?: string;
}

export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

function invalid(message: string): PalisadeError {
  return new PalisadeError('AUDIT_QUERY_INVALID', message, { status: 400 });
}

function toMs(value: string | number, name: string): number {
  const ms = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(ms) || ms < 0) throw invalid(`${name} must be an ISO 8601 time or milliseconds`);
  return ms;
}

/** Cursors are opaque to clients; inside they are the last index served, bound to the order. */
function encodeCursor(order: 'asc' | 'desc', index: number): string {
  return Buffer.from(`${order}:${index}`).toString('base64url');
}

function decodeCursor(cursor: string, order: 'asc' | 'desc'): number {
  const m = /^(asc|desc):(\d{1,16})$/.exec(
    cursor.length <= 64 ? Buffer.from(cursor, 'base64url').toString() : '',
  );
  if (!m || m[1] !== order) throw invalid('cursor is not one this query returned');
  return Number(m[2]);
}

export async function queryEvents(
  db: Kysely<FoundationTables & TlogTables & AuditTables>,
  logId: number,
  filter: AuditQuery,
): Promise<AuditPage> {
  // Filters arrive from HTTP and from other modules' code alike: check them, whatever the types say.
  const requested: unknown = filter.order ?? 'asc';
  if (requested !== 'asc' && requested !== 'desc') throw invalid('order must be asc or desc');
  const order = requested;
  const limit = filter.limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
    throw invalid(`limit must be 1..${MAX_PAGE}`);

  let q = db
    .selectFrom('audit_event as a')
    .innerJoin('tlog_entry as e', (join) => join.onRef('e.idx', '=', 'a.idx').on('e.log_id', '=', logId))
    .select(['a.idx', 'e.data']);
  if (filter.from !== undefined) q = q.where('a.time_ms', '>=', toMs(filter.from, 'from'));
  if (filter.to !== undefined) q = q.where('a.time_ms', '<', toMs(filter.to, 'to'));
  if (filter.actorId !== undefined) q = q.where('a.actor_id', '=', filter.actorId);
  if (filter.targetType !== undefined) q = q.where('a.target_type', '=', filter.targetType);
  if (filter.targetId !== undefined) q = q.where('a.target_id', '=', filter.targetId);
  if (filter.zone !== undefined) q = q.where('a.zone', '=', filter.zone);
  if (filter.outcome !== undefined) {
    if (!['success', 'denied', 'failure'].includes(filter.outcome))
      throw invalid('outcome must be success, denied or failure');
    q = q.where('a.outcome', '=', filter.outcome);
  }
  if (filter.actionPrefix !== undefined) {
    const prefix = filter.actionPrefix;
    // Catalogue names use [a-z0-9.-] only, so the prefix holds no LIKE wildcards once checked.
    if (!/^[a-z0-9.-]{1,128}$/.test(prefix))
      throw invalid('actionPrefix may contain only a-z, 0-9, "." and "-"');
    q = prefix.endsWith('.')
      ? q.where('a.action', 'like', `${prefix}%`)
      : q.where((eb) => eb.or([eb('a.action', '=', prefix), eb('a.action', 'like', `${prefix}.%`)]));
  }
  if (filter.cursor !== undefined) {
    const after = decodeCursor(filter.cursor, order);
    q = q.where('a.idx', order === 'asc' ? '>' : '<', after);
  }
  const rows = await q
    .orderBy('a.idx', order)
    .limit(limit + 1)
    .execute();
  const page = rows
    .slice(0, limit)
    .map((r) => ({ index: Number(r.idx), event: parseEvent(Number(r.idx), r.data) }));
  const last = page.at(-1);
  return rows.length > limit && last
    ? { events: page, nextCursor: encodeCursor(order, last.index) }
    : { events: page };
}

/** Reads a stored event; bytes that are not an event mean the entry was damaged or tampered with. */
export function parseEvent(index: number, data: Uint8Array): AuditEvent {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(data).toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && (parsed as { v?: unknown }).v === 1) {
      return parsed as AuditEvent;
    }
  } catch {
    // fall through to the typed error
  }
  throw new PalisadeError(
    'AUDIT_ENTRY_CORRUPT',
    `audit entry ${index} is not a readable event; run \`palisade audit verify\` to find what changed`,
  );
}
