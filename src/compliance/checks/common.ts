import type { Fact } from '../facts.js';
import {
  MalformedFact,
  MissingFact,
  type AttestationCheck,
  type AutomatedCheck,
  type CheckOutcome,
  type FactReader,
  type PendingCheck,
} from './types.js';

export function automated(
  requirement: string,
  reads: string[],
  evaluate: (facts: FactReader) => CheckOutcome,
): AutomatedCheck {
  return { kind: 'automated', requirement, reads, evaluate };
}

export function attestation(
  requirement: string,
  asks: string,
  notApplicableAllowed = false,
): AttestationCheck {
  return { kind: 'attestation', requirement, asks, notApplicableAllowed };
}

export function pending(requirement: string, namespace: string, note: string): PendingCheck {
  return { kind: 'pending', requirement, namespace, note };
}

/** A network listener as reported under `<namespace>.listener.<name>`. */
export interface Listener {
  key: string;
  address: string | null;
  transport: 'tls' | 'plaintext';
  tls: { versions: string[]; refusedVersions: string[]; cipher: string | null; observedBy: string } | null;
  certificate: {
    subject: string;
    issuer: string;
    selfSigned: boolean;
    keyType: string;
    keyDetail: string;
    securityBits: number;
    notBefore: string;
    notAfter: string;
  } | null;
  privateKeyStorage: 'file' | 'hardware' | null;
}

export const LISTENER_PATTERN = /^[a-z][a-zA-Z0-9]*\.listener\.[^.]+$/;
export const LISTENERS = '*.listener.*';

/** Every listener of every module; a listener fact that cannot be read makes the check not assessed. */
export function listeners(facts: FactReader): Listener[] {
  const found = facts.matching(LISTENER_PATTERN);
  if (found.length === 0) throw new MissingFact(LISTENERS);
  return found.map(parseListener);
}

function parseListener(fact: Fact): Listener {
  const bad = () => new MalformedFact(fact.key, 'a listener description');
  const v = fact.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad();
  const transport = v.transport;
  if (transport !== 'tls' && transport !== 'plaintext') throw bad();
  let tls: Listener['tls'] = null;
  let certificate: Listener['certificate'] = null;
  if (transport === 'tls') {
    const t = v.tls;
    const c = v.certificate;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) throw bad();
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw bad();
    const versions = t.versions;
    const refused = t.refusedVersions ?? [];
    if (!isStrings(versions) || !isStrings(refused)) throw bad();
    tls = {
      versions,
      refusedVersions: refused,
      cipher: typeof t.cipher === 'string' ? t.cipher : null,
      observedBy: typeof t.observedBy === 'string' ? t.observedBy : 'unknown',
    };
    if (
      typeof c.selfSigned !== 'boolean' ||
      typeof c.securityBits !== 'number' ||
      typeof c.subject !== 'string' ||
      typeof c.issuer !== 'string' ||
      typeof c.keyType !== 'string' ||
      typeof c.keyDetail !== 'string' ||
      typeof c.notBefore !== 'string' ||
      typeof c.notAfter !== 'string'
    ) {
      throw bad();
    }
    certificate = {
      subject: c.subject,
      issuer: c.issuer,
      selfSigned: c.selfSigned,
      keyType: c.keyType,
      keyDetail: c.keyDetail,
      securityBits: c.securityBits,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
    };
  }
  const pk = v.privateKey;
  const storage =
    typeof pk === 'object' &&
    pk !== null &&
    !Array.isArray(pk) &&
    (pk.storage === 'file' || pk.storage === 'hardware')
      ? pk.storage
      : null;
  return {
    key: fact.key,
    address: typeof v.address === 'string' ? v.address : null,
    transport,
    tls,
    certificate,
    privateKeyStorage: storage,
  };
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** A reader of an object-valued fact's fields with type checks. */
export function field<T extends 'boolean' | 'number' | 'string'>(
  facts: FactReader,
  key: string,
  name: string,
  type: T,
): T extends 'boolean' ? boolean : T extends 'number' ? number : string {
  const obj = facts.object(key);
  const v = obj[name];
  if (typeof v !== type) throw new MalformedFact(key, `an object with ${type} ${name}`);
  return v as never;
}

export function list(items: string[], max = 5): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
