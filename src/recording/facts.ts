import { sql } from 'kysely';
import type { JsonValue } from '../audit/index.js';
import type { Recorder } from './recorder.js';

/** Structurally the compliance engine's `Observation` (recording/ does not import compliance/). */
export interface ObservationLike {
  key: string;
  value: JsonValue;
  observedAt: string;
  zone?: string;
}

/** Structurally the compliance engine's `FactSource`. */
export interface FactSourceLike {
  readonly name: string;
  readonly namespace: string;
  collect(): Promise<ObservationLike[]>;
}

/**
 * The facts recording reports to the compliance view (keys documented in docs/recording.md):
 * encryption-at-rest coverage and retention per zone and overall (namespace `recording`), video
 * storage capacity and its warning threshold (SR 2.9; namespace `storage`), and the camera inventory
 * (SR 7.8; namespace `devices`, until devices/ lands with ONVIF onboarding).
 */
export function recordingFactSources(recorder: Recorder): FactSourceLike[] {
  const at = () => new Date().toISOString();
  return [
    {
      name: 'recording.segments',
      namespace: 'recording',
      async collect() {
        const observedAt = at();
        const rows = await recorder.index.db
          .selectFrom('recording_segment')
          .select((eb) => ['zone_id', 'state', eb.fn.countAll<number | string>().as('n')])
          .where('state', 'in', ['complete', 'open'])
          .groupBy(['zone_id', 'state'])
          .execute();
        // Every segment is sealed while it is written; coverage counts indexed segments whose blob is a
        // sealed object with a data key (all of them, by construction; `palisade check` verifies it).
        const keyed = await sql<{ zone_id: string; n: number | string }>`
          select s.zone_id, count(*) as n from recording_segment s
          join key_data_key k on k.object_id = s.id
          where s.state = 'complete' and k.destroyed_at is null group by s.zone_id`.execute(
          recorder.index.db,
        );
        const keyedBy = new Map(keyed.rows.map((r) => [r.zone_id, Number(r.n)]));
        const zones = new Map<string, number>();
        for (const r of rows)
          if (r.state === 'complete') zones.set(r.zone_id, (zones.get(r.zone_id) ?? 0) + Number(r.n));
        const cameras = await recorder.cameras.list();
        const policies = await recorder.cameras.zonePolicies();
        const out: ObservationLike[] = [];
        let total = 0;
        let sealed = 0;
        for (const [zone, n] of zones) {
          const k = Math.min(n, keyedBy.get(zone) ?? 0);
          total += n;
          sealed += k;
          out.push({
            key: 'recording.encryptionAtRest.coverage',
            value: n === 0 ? 1 : k / n,
            observedAt,
            zone,
          });
        }
        out.push({
          key: 'recording.encryptionAtRest.coverage',
          value: total === 0 ? 1 : sealed / total,
          observedAt,
        });
        out.push({
          key: 'recording.encryptionAtRest.algorithm',
          value: 'AES-256-GCM (palisade-segment/1), per-segment data key wrapped by the zone KEK',
          observedAt,
        });
        out.push({ key: 'recording.segments.count', value: total, observedAt });
        const defaults = recorder.settings.retention;
        const byZone = new Map<string, { cameras: number; configured: number }>();
        for (const c of cameras) {
          const z = byZone.get(c.zoneId) ?? { cameras: 0, configured: 0 };
          z.cameras++;
          const p = policies.get(c.zoneId);
          const age = c.retention.maxAgeDays ?? p?.maxAgeDays ?? defaults.maxAgeDays;
          if (age > 0) z.configured++;
          byZone.set(c.zoneId, z);
        }
        for (const [zone, z] of byZone) {
          out.push({
            key: 'recording.retention.configured',
            value: z.configured === z.cameras,
            observedAt,
            zone,
          });
          const p = policies.get(zone);
          out.push({
            key: 'recording.retention.maxAgeDays',
            value: p?.maxAgeDays ?? defaults.maxAgeDays,
            observedAt,
            zone,
          });
        }
        out.push({ key: 'recording.retention.configured', value: true, observedAt });
        out.push({ key: 'recording.retention.defaultMaxAgeDays', value: defaults.maxAgeDays, observedAt });
        out.push({ key: 'recording.retention.enforcement', value: 'crypto-shredding', observedAt });
        out.push({ key: 'recording.integrityLog.enabled', value: true, observedAt });
        out.push({ key: 'recording.integrityLog.size', value: await recorder.integrity.size(), observedAt });
        const status = await recorder.status();
        out.push({ key: 'recording.cameras.failed', value: status.cameras.failed, observedAt });
        return out;
      },
    },
    {
      name: 'recording.storage',
      namespace: 'storage',
      async collect() {
        const observedAt = at();
        const s = (await recorder.status()).storage;
        return [
          {
            key: 'storage.capacity.headroomRatio',
            value: Math.round(s.freeRatio * 10_000) / 10_000,
            observedAt,
          },
          { key: 'storage.capacity.warningThresholdRatio', value: s.warnFreeRatio, observedAt },
          { key: 'storage.capacity.stopThresholdRatio', value: s.stopFreeRatio, observedAt },
          { key: 'storage.capacity.state', value: s.state, observedAt },
          { key: 'storage.backend', value: recorder.store.kind, observedAt },
          { key: 'storage.atomicWrites', value: true, observedAt },
          { key: 'storage.plaintextVideo', value: false, observedAt },
        ];
      },
    },
    {
      name: 'recording.inventory',
      namespace: 'devices',
      async collect() {
        const observedAt = at();
        const cameras = await recorder.cameras.list();
        const out: ObservationLike[] = [
          { key: 'devices.inventory.count', value: cameras.length, observedAt },
          {
            key: 'devices.inventory.cameras',
            value: cameras.map((c) => ({
              id: c.id,
              name: c.name,
              zone: c.zoneId,
              url: c.streamUrl.replace(/^(rtsps?:\/\/)[^/@]*@/i, '$1'),
              recording: c.recordingMode,
            })),
            observedAt,
          },
        ];
        const perZone = new Map<string, number>();
        for (const c of cameras) perZone.set(c.zoneId, (perZone.get(c.zoneId) ?? 0) + 1);
        for (const [zone, n] of perZone)
          out.push({ key: 'devices.inventory.count', value: n, observedAt, zone });
        out.push({
          key: 'devices.transport.encrypted',
          value:
            cameras.length === 0
              ? 1
              : cameras.filter((c) => c.streamUrl.toLowerCase().startsWith('rtsps://')).length /
                cameras.length,
          observedAt,
        });
        return out;
      },
    },
  ];
}
