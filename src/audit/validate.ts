import { PalisadeError } from '../errors/index.js';
import { isAuditAction } from './actions.js';
import { canonicalJson, isWellFormedText } from './canonical.js';
import type { AuditEvent, AuditEventInput, JsonValue } from './event.js';

/**
 * Turns what a module hands to `append()` into the stored event, refusing anything malformed or
 * oversized with AUDIT_EVENT_INVALID: a caller's bug must never write an event an auditor cannot read,
 * and a hostile value (a user name, a camera's reply) must never grow the log without bound.
 */
export const LIMITS = {
  id: 256,
  name: 256,
  auth: 64,
  address: 128,
  type: 64,
  zone: 256,
  reason: 2048,
  /** Canonical JSON of `details`. */
  detailsBytes: 16 * 1024,
  detailsDepth: 8,
  /** Canonical JSON of the whole event. */
  eventBytes: 32 * 1024,
} as const;

/** Latest representable time: 9999-12-31T23:59:59.999Z keeps the ISO form fixed-width. */
const MAX_TIME = 253_402_300_799_999;

const ACTOR_TYPES = new Set(['user', 'service', 'device', 'system']);
const OUTCOMES = new Set(['success', 'denied', 'failure']);
const ACTOR_KEYS = new Set(['type', 'id', 'name', 'auth', 'address']);
const TARGET_KEYS = new Set(['type', 'id', 'zone']);
const INPUT_KEYS = new Set(['action', 'outcome', 'actor', 'target', 'reason', 'details', 'time']);

function invalid(message: string): PalisadeError {
  return new PalisadeError('AUDIT_EVENT_INVALID', message, { status: 400 });
}

/**
 * The stored event's canonical bytes (the leaf), and its fields other than `details` for the query
 * index (details are only ever read back from the bytes).
 *
 * The event's own members have fixed names, so their RFC 8785 order is fixed too and is written out
 * here directly (action, actor{address, auth, id, name, type}, details, outcome, reason,
 * target{id, type, zone}, time, v); only `details` goes through the general canonicalizer. This runs
 * for every event Palisade records, and a test checks it against `canonicalJson` on random events.
 */
export function buildEvent(
  input: AuditEventInput,
  now: number,
): { event: Omit<AuditEvent, 'details'>; bytes: Buffer } {
  // Callers are other modules' code: check every field, whatever the types say.
  const raw: unknown = input;
  if (typeof raw !== 'object' || raw === null) throw invalid('the event must be an object');
  onlyKnown(raw, INPUT_KEYS, 'event');
  const action: unknown = input.action;
  if (typeof action !== 'string' || !isAuditAction(action)) {
    throw invalid(`action ${JSON.stringify(String(action).slice(0, 80))} is not in the action catalogue`);
  }
  if (!OUTCOMES.has(input.outcome)) throw invalid('outcome must be success, denied or failure');
  const time = input.time ?? now;
  if (!Number.isInteger(time) || time < 0 || time > MAX_TIME) {
    throw invalid('time must be integer milliseconds since the epoch, before the year 10000');
  }

  const actorValue = input.actor as unknown;
  if (typeof actorValue !== 'object' || actorValue === null) throw invalid('actor is required');
  onlyKnown(actorValue, ACTOR_KEYS, 'actor');
  const a = input.actor;
  if (!ACTOR_TYPES.has(a.type)) throw invalid('actor.type must be user, service, device or system');
  const actor: AuditEvent['actor'] = { type: a.type, id: text(a.id, 'actor.id', LIMITS.id, true)! };
  const name = text(a.name, 'actor.name', LIMITS.name);
  const auth = text(a.auth, 'actor.auth', LIMITS.auth);
  const address = text(a.address, 'actor.address', LIMITS.address);
  if (name !== undefined) actor.name = name;
  if (auth !== undefined) actor.auth = auth;
  if (address !== undefined) actor.address = address;
  const event: Omit<AuditEvent, 'details'> = {
    v: 1,
    time: new Date(time).toISOString(),
    action,
    outcome: input.outcome,
    actor,
  };

  if (input.target !== undefined) {
    const targetValue = input.target as unknown;
    if (typeof targetValue !== 'object' || targetValue === null) throw invalid('target must be an object');
    onlyKnown(targetValue, TARGET_KEYS, 'target');
    const t = input.target;
    event.target = {
      type: text(t.type, 'target.type', LIMITS.type, true)!,
      id: text(t.id, 'target.id', LIMITS.id, true)!,
    };
    const zone = text(t.zone, 'target.zone', LIMITS.zone);
    if (zone !== undefined) event.target.zone = zone;
  }

  const reason = text(input.reason, 'reason', LIMITS.reason);
  if (reason !== undefined) event.reason = reason;
  else if (input.outcome !== 'success') {
    throw invalid(`reason is required when the outcome is ${input.outcome}`);
  }

  let details: string | undefined;
  if (input.details !== undefined) {
    const value = input.details as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw invalid('details must be an object');
    }
    checkDepth(value as JsonValue, 'details', 1);
    try {
      details = canonicalJson(value);
    } catch (err) {
      if (err instanceof PalisadeError) throw invalid(err.message.replace(/^\$/, 'details'));
      throw err;
    }
    if (Buffer.byteLength(details) > LIMITS.detailsBytes) {
      throw invalid(`details are larger than ${LIMITS.detailsBytes} bytes`);
    }
  }

  const q = JSON.stringify;
  let json = `{"action":${q(action)},"actor":{`;
  if (address !== undefined) json += `"address":${q(address)},`;
  if (auth !== undefined) json += `"auth":${q(auth)},`;
  json += `"id":${q(actor.id)},`;
  if (name !== undefined) json += `"name":${q(name)},`;
  json += `"type":${q(actor.type)}}`;
  if (details !== undefined) json += `,"details":${details}`;
  json += `,"outcome":${q(event.outcome)}`;
  if (reason !== undefined) json += `,"reason":${q(reason)}`;
  if (event.target) {
    json += `,"target":{"id":${q(event.target.id)},"type":${q(event.target.type)}`;
    if (event.target.zone !== undefined) json += `,"zone":${q(event.target.zone)}`;
    json += '}';
  }
  json += `,"time":${q(event.time)},"v":1}`;
  const bytes = Buffer.from(json, 'utf8');
  if (bytes.length > LIMITS.eventBytes) throw invalid(`the event is larger than ${LIMITS.eventBytes} bytes`);
  return { event, bytes };
}

function onlyKnown(value: object, allowed: Set<string>, where: string): void {
  for (const k in value) {
    if (!allowed.has(k) && (value as Record<string, unknown>)[k] !== undefined) {
      throw invalid(`${where}.${k} is not a field of an audit event`);
    }
  }
}

function text(value: unknown, where: string, max: number, required = false): string | undefined {
  if (value === undefined) {
    if (required) throw invalid(`${where} is required`);
    return undefined;
  }
  if (typeof value !== 'string') throw invalid(`${where} must be a string`);
  if (required && value.length === 0) throw invalid(`${where} must not be empty`);
  if (value.length > max) throw invalid(`${where} is longer than ${max} characters`);
  if (!isWellFormedText(value)) throw invalid(`${where} is not valid Unicode`);
  return value;
}

function checkDepth(value: JsonValue, where: string, depth: number): void {
  if (typeof value !== 'object' || value === null) return;
  if (depth > LIMITS.detailsDepth) throw invalid(`${where} nests deeper than ${LIMITS.detailsDepth} levels`);
  for (const v of Array.isArray(value) ? value : Object.values(value)) checkDepth(v, where, depth + 1);
}
