/**
 * Where a grant applies. `all` covers everything; `site` covers the site's zones and their cameras;
 * `zone` covers the zone's cameras; `camera-group` covers the cameras in the group.
 */
export type Scope =
  | { kind: 'all' }
  | { kind: 'site'; id: string }
  | { kind: 'zone'; id: string }
  | { kind: 'camera-group'; id: string };

/** What an action is about, as far as scoping needs to know. `undefined` means a system-wide action. */
export type Resource =
  | { kind: 'site'; id: string }
  | { kind: 'zone'; id: string; siteId: string }
  | { kind: 'camera'; id: string; zoneId: string; siteId: string; groupIds: readonly string[] };

export function covers(scope: Scope, resource: Resource | undefined): boolean {
  if (scope.kind === 'all') return true;
  if (resource === undefined) return false;
  switch (scope.kind) {
    case 'site':
      return resource.kind === 'site' ? resource.id === scope.id : resource.siteId === scope.id;
    case 'zone':
      return (
        (resource.kind === 'zone' && resource.id === scope.id) ||
        (resource.kind === 'camera' && resource.zoneId === scope.id)
      );
    case 'camera-group':
      return resource.kind === 'camera' && resource.groupIds.includes(scope.id);
  }
}

export function describeScope(scope: Scope): string {
  return scope.kind === 'all' ? 'all' : `${scope.kind}:${scope.id}`;
}

export function parseScope(text: string): Scope | undefined {
  if (text === 'all') return { kind: 'all' };
  const m = /^(site|zone|camera-group):([A-Za-z0-9._-]{1,64})$/.exec(text);
  if (!m) return undefined;
  return { kind: m[1] as 'site' | 'zone' | 'camera-group', id: m[2]! };
}
