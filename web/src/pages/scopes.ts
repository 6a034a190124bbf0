import { api } from '../api/client';
import type { Site, Zone } from '../api/types';

export interface ScopeOption {
  value: string;
  label: string;
}

/**
 * The scopes a grant can name, in words: everything, each site, each zone. Needs `zone.view` to list
 * sites and zones; without it only "all" is offered and other scopes can be typed.
 */
export async function scopeOptions(
  canListZones: boolean,
): Promise<{ options: ScopeOption[]; names: Map<string, string> }> {
  const options: ScopeOption[] = [{ value: 'all', label: 'Everything (all sites and zones)' }];
  const names = new Map<string, string>([['all', 'everything']]);
  if (!canListZones) return { options, names };
  const [sites, zones] = await Promise.all([api.get<Site[]>('/api/sites'), api.get<Zone[]>('/api/zones')]);
  for (const s of sites) {
    options.push({ value: `site:${s.id}`, label: `Site: ${s.name}` });
    names.set(`site:${s.id}`, `site ${s.name}`);
    for (const z of zones.filter((z) => z.siteId === s.id)) {
      options.push({ value: `zone:${z.id}`, label: `  Zone: ${z.name} (${s.name})` });
      names.set(`zone:${z.id}`, `zone ${z.name}`);
    }
  }
  return { options, names };
}

export function describeScope(scope: string, names: Map<string, string>): string {
  return names.get(scope) ?? scope.replace(':', ' ');
}
