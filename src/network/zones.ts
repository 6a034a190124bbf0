import type { Kysely } from 'kysely';
import { tablesOf, type Database } from '../db/index.js';
import { PalisadeError } from '../errors/index.js';
import type { NetworkTables } from './tables.js';

/** The seven IEC 62443 foundational requirements, in order: IAC, UC, SI, DC, RDF, TRE, RA. */
export type SecurityLevelVector = [number, number, number, number, number, number, number];

export interface Site {
  id: string;
  name: string;
  description: string;
}

export interface Zone {
  id: string;
  siteId: string;
  name: string;
  description: string;
  slTarget: SecurityLevelVector;
}

export const ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
const ID_RE = new RegExp(ID_PATTERN);

export const DEFAULT_SITE: Site = {
  id: 'default',
  name: 'Default site',
  description: 'created on first start',
};
export const DEFAULT_ZONE_ID = 'default';

export function parseSlVector(value: unknown): SecurityLevelVector {
  if (
    !Array.isArray(value) ||
    value.length !== 7 ||
    !value.every((n) => Number.isInteger(n) && n >= 0 && n <= 4)
  ) {
    throw new PalisadeError('ZONE_INVALID', 'a security level vector is 7 integers from 0 to 4 (FR1..FR7)', {
      status: 400,
    });
  }
  return value as SecurityLevelVector;
}

/** Sites and zones: the places grants are scoped to and that carry a target security level (SL-T). */
export class ZoneDirectory {
  private readonly db: Kysely<NetworkTables>;

  constructor(database: Database) {
    this.db = tablesOf<NetworkTables>(database);
  }

  /** First start: one site and one zone, so that cameras and scoped grants have somewhere to live. */
  async ensureDefaults(defaultTarget: SecurityLevelVector): Promise<void> {
    const now = new Date().toISOString();
    await this.db
      .insertInto('site')
      .values({ ...DEFAULT_SITE, created_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    await this.db
      .insertInto('zone')
      .values({
        id: DEFAULT_ZONE_ID,
        site_id: DEFAULT_SITE.id,
        name: 'Default zone',
        description: 'created on first start',
        sl_target: JSON.stringify(defaultTarget),
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  async listSites(): Promise<Site[]> {
    const rows = await this.db.selectFrom('site').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, name: r.name, description: r.description }));
  }

  async getSite(id: string): Promise<Site | undefined> {
    const r = await this.db.selectFrom('site').selectAll().where('id', '=', id).executeTakeFirst();
    return r && { id: r.id, name: r.name, description: r.description };
  }

  async createSite(site: Site): Promise<Site> {
    checkId(site.id, 'site');
    if (await this.getSite(site.id))
      throw new PalisadeError('SITE_EXISTS', `site ${site.id} already exists`, { status: 409 });
    await this.db
      .insertInto('site')
      .values({ ...site, created_at: new Date().toISOString() })
      .execute();
    return site;
  }

  async listZones(): Promise<Zone[]> {
    const rows = await this.db.selectFrom('zone').selectAll().orderBy('id').execute();
    return rows.map(toZone);
  }

  async getZone(id: string): Promise<Zone | undefined> {
    const r = await this.db.selectFrom('zone').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toZone(r);
  }

  async createZone(zone: Zone): Promise<Zone> {
    checkId(zone.id, 'zone');
    parseSlVector(zone.slTarget);
    if (!(await this.getSite(zone.siteId)))
      throw new PalisadeError('SITE_NOT_FOUND', `no site ${zone.siteId}`, { status: 404 });
    if (await this.getZone(zone.id))
      throw new PalisadeError('ZONE_EXISTS', `zone ${zone.id} already exists`, { status: 409 });
    const now = new Date().toISOString();
    await this.db
      .insertInto('zone')
      .values({
        id: zone.id,
        site_id: zone.siteId,
        name: zone.name,
        description: zone.description,
        sl_target: JSON.stringify(zone.slTarget),
        created_at: now,
        updated_at: now,
      })
      .execute();
    return zone;
  }

  async updateZone(
    id: string,
    change: { name?: string; description?: string; slTarget?: SecurityLevelVector },
  ): Promise<Zone> {
    const current = await this.getZone(id);
    if (!current) throw new PalisadeError('ZONE_NOT_FOUND', `no zone ${id}`, { status: 404 });
    const next: Zone = {
      ...current,
      ...(change.name !== undefined && { name: change.name }),
      ...(change.description !== undefined && { description: change.description }),
      ...(change.slTarget !== undefined && { slTarget: parseSlVector(change.slTarget) }),
    };
    await this.db
      .updateTable('zone')
      .set({
        name: next.name,
        description: next.description,
        sl_target: JSON.stringify(next.slTarget),
        updated_at: new Date().toISOString(),
      })
      .where('id', '=', id)
      .execute();
    return next;
  }
}

function checkId(id: string, what: string): void {
  if (!ID_RE.test(id)) {
    throw new PalisadeError(
      'ID_INVALID',
      `${what} id must be lower-case letters, digits and dashes (1-63), got "${id}"`,
      {
        status: 400,
      },
    );
  }
}

function toZone(r: NetworkTables['zone']): Zone {
  return {
    id: r.id,
    siteId: r.site_id,
    name: r.name,
    description: r.description,
    slTarget: parseSlVector(JSON.parse(r.sl_target)),
  };
}
