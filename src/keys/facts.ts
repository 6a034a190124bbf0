import type { JsonValue } from '../audit/index.js';
import type { Keyring } from './keyring.js';

/**
 * What the keys module reports to the compliance engine (structurally a compliance `FactSource`). Video
 * coverage is the recorder's to report (`recording.encryptionAtRest.coverage`); keys reports secrets.
 */
export function keysFactSource(o: { keyring: Keyring; kekMaxAgeDays: number }) {
  return {
    name: 'keys',
    namespace: 'keys',
    async collect(): Promise<{ key: string; value: JsonValue; observedAt: Date }[]> {
      const at = new Date();
      const status = await o.keyring.status(at);
      const p = status.provider;
      const live = status.keks.filter((k) => k.state !== 'destroyed');
      return [
        // `pkcs11` only for a token in hardware; SoftHSM2 and the key file are software.
        { key: 'keys.provider.kind', value: p.kind === 'pkcs11' ? 'pkcs11' : 'keyfile', observedAt: at },
        { key: 'keys.provider.hardwareBacked', value: p.hardwareBacked, observedAt: at },
        { key: 'keys.provider.description', value: p.description, observedAt: at },
        { key: 'keys.atRest.algorithm', value: 'AES-256-GCM', observedAt: at },
        // Every secret goes through the keyring: no other place stores one.
        { key: 'keys.atRest.coverage', value: { secrets: true }, observedAt: at },
        { key: 'keys.cryptoShredding.enabled', value: true, observedAt: at },
        {
          key: 'keys.kek.oldestAgeDays',
          value:
            live.length === 0
              ? 0
              : Math.max(...live.filter((k) => k.state === 'active').map((k) => k.ageDays), 0),
          observedAt: at,
        },
        { key: 'keys.kek.maxAgeDays', value: o.kekMaxAgeDays, observedAt: at },
        { key: 'keys.secrets.sealed', value: status.secrets, observedAt: at },
      ];
    },
  };
}
