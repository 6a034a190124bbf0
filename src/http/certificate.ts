import { X509Certificate, webcrypto, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { PalisadeError, describeError } from '../errors/index.js';

export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  /** SHA-256 fingerprint of the leaf certificate, colon-separated upper-case hex (as browsers show it). */
  fingerprint256: string;
  /** True when this call generated a new self-signed certificate. */
  generated: boolean;
  certFile: string;
}

export const SELF_SIGNED_CERT = 'tls/server.crt';
export const SELF_SIGNED_KEY = 'tls/server.key';
const VALIDITY_DAYS = 397;

/**
 * Loads the configured certificate, or on first start creates a self-signed ECDSA P-256 one in the data
 * dir (key mode 0600) so that the server is never reachable without TLS.
 */
export async function ensureTlsMaterial(options: {
  dataDir: string;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  hostnames?: string[];
}): Promise<TlsMaterial> {
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new PalisadeError('CONFIG_INVALID', 'http.tls: certFile and keyFile must be set together');
  }
  const certFile = options.certFile ?? path.join(options.dataDir, SELF_SIGNED_CERT);
  const keyFile = options.keyFile ?? path.join(options.dataDir, SELF_SIGNED_KEY);
  let generated = false;
  if (options.certFile === undefined && !(existsSync(certFile) && existsSync(keyFile))) {
    await generateSelfSigned(certFile, keyFile, options.hostnames ?? []);
    generated = true;
  }
  let certPem: string;
  let keyPem: string;
  try {
    certPem = readFileSync(certFile, 'utf8');
    keyPem = readFileSync(keyFile, 'utf8');
  } catch (err) {
    throw new PalisadeError(
      'TLS_MATERIAL_UNREADABLE',
      `cannot read TLS certificate or key: ${describeError(err)}`,
    );
  }
  let fingerprint256: string;
  try {
    fingerprint256 = new X509Certificate(certPem).fingerprint256;
  } catch (err) {
    throw new PalisadeError(
      'TLS_MATERIAL_INVALID',
      `${certFile} is not a PEM certificate: ${describeError(err)}`,
    );
  }
  return { certPem, keyPem, fingerprint256, generated, certFile };
}

async function generateSelfSigned(certFile: string, keyFile: string, extraNames: string[]): Promise<void> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const names = new Set(['localhost', os.hostname(), ...extraNames.filter((n) => !isWildcard(n))]);
  const ips = new Set(['127.0.0.1', '::1']);
  const sans: x509.JsonGeneralName[] = [];
  for (const name of names) {
    if (/^[\d.]+$/.test(name) || name.includes(':')) ips.add(name);
    else sans.push({ type: 'dns', value: name });
  }
  for (const ip of ips) sans.push({ type: 'ip', value: ip });
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16)
      .toString('hex')
      .replace(/^[89a-f]/, '7'),
    name: `CN=Palisade self-signed (${os.hostname()})`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + VALIDITY_DAYS * 86_400_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sans),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  writeAtomic(keyFile, keyPem, 0o600);
  writeAtomic(certFile, cert.toString('pem'), 0o644);
}

function writeAtomic(file: string, content: string, mode: number): void {
  // The tls dir holds a private key, so 0700.
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode, flag: 'wx' });
  renameSync(tmp, file);
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '*';
}
