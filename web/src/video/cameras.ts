import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { Camera, CameraState, Zone } from '../api/types';
import type { Me } from '../auth/me';
import { useLoad, type Loaded } from '../ui/widgets';

/**
 * Whether the person holds `permission` on a camera (or zone), from their effective scopes: `all`, the
 * zone, or the zone's site. Camera groups are not assigned yet, so a group scope covers nothing (as on
 * the server). When the zone's site is unknown (no `zone.view`), a site grant is given the benefit of
 * the doubt: this only decides what the page offers, the server decides every request.
 */
export function holds(
  me: Me,
  permission: string,
  target: { zoneId: string },
  siteOf: (zoneId: string) => string | undefined,
): boolean {
  const scopes = me.permissions.permissions[permission] ?? [];
  const site = siteOf(target.zoneId);
  return scopes.some(
    (s) =>
      s === 'all' ||
      s === `zone:${target.zoneId}` ||
      (s.startsWith('site:') && (site === undefined || s === `site:${site}`)),
  );
}

export interface CameraDirectory {
  cameras: Loaded<Camera[]>;
  zones: Zone[];
  zoneName(zoneId: string): string;
  siteOf(zoneId: string): string | undefined;
  /** `holds(me, permission, camera)` with this directory's zones. */
  may(permission: string, target: { zoneId: string }): boolean;
}

/**
 * The cameras this person can see (`GET /api/cameras`, filtered by the server to `camera.view`), with
 * their health, refreshed every `refreshMs`; and the zones they sit in.
 */
export function useCameraDirectory(me: Me, refreshMs = 5000): CameraDirectory {
  const cameras = useLoad(() => api.get<Camera[]>('/api/cameras'));
  const canZones = me.can('zone.view');
  const zones = useLoad(
    () => (canZones ? api.get<Zone[]>('/api/zones') : Promise.resolve([] as Zone[])),
    [canZones],
  );
  const { reload } = cameras;
  useEffect(() => {
    if (refreshMs <= 0) return;
    const timer = setInterval(reload, refreshMs);
    return () => clearInterval(timer);
  }, [reload, refreshMs]);
  const list = zones.data ?? [];
  const siteOf = (zoneId: string) => list.find((z) => z.id === zoneId)?.siteId;
  return {
    cameras,
    zones: list,
    zoneName: (zoneId) => list.find((z) => z.id === zoneId)?.name ?? zoneId,
    siteOf,
    may: (permission, target) => holds(me, permission, target, siteOf),
  };
}

/** The clock, ticking every `ms`, for "3 s ago" texts (render stays pure). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

export const STATE_WORDS: Record<CameraState, string> = {
  recording: 'recording',
  starting: 'starting',
  reconnecting: 'reconnecting',
  failed: 'failed',
  stopped: 'not recording',
};

export function stateBadge(state: CameraState): string {
  return state === 'recording' ? 'badge-good' : state === 'failed' ? 'badge-bad' : '';
}

/** Whether the recorder has a session for the camera, so that a live view can be opened. */
export function hasLiveSession(state: CameraState): boolean {
  return state === 'recording' || state === 'starting' || state === 'reconnecting';
}

export function formatBitrate(bps: number): string {
  if (bps <= 0) return '—';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  return `${Math.round(bps / 1e3)} kbit/s`;
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 10 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** "4 s ago", "3 min ago", or the time itself when older than a day. */
export function ago(iso: string | null, now: number): string {
  if (!iso) return 'never';
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

/** `datetime-local` values are the browser's local time, to the second. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(
    d.getMinutes(),
  )}:${pad(d.getSeconds())}`;
}

export function fromLocalInput(value: string): number {
  return new Date(value).getTime();
}

/** A wall-clock instant as the operator reads it: local date and time to the second. */
export function clock(ms: number, withDate = true): string {
  return new Date(ms).toLocaleString(undefined, {
    ...(withDate ? { year: 'numeric', month: 'short', day: '2-digit' } : {}),
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}
