import { useState, type SyntheticEvent } from 'react';
import { api } from '../api/client';
import type { Site, Zone } from '../api/types';
import { useMe, type Me } from '../auth/me';
import { SelectField, TextField } from '../ui/fields';
import { ErrorNote } from '../ui/ErrorNote';
import { PageHeader, useAction, useLoad } from '../ui/widgets';

/** IEC 62443-3-3 foundational requirements, in the order of the SL vector. */
export const FRS = [
  ['FR1', 'Identification and authentication control'],
  ['FR2', 'Use control'],
  ['FR3', 'System integrity'],
  ['FR4', 'Data confidentiality'],
  ['FR5', 'Restricted data flow'],
  ['FR6', 'Timely response to events'],
  ['FR7', 'Resource availability'],
] as const;

/** Whether the person holds `permission` on a zone (through all, its site, or the zone itself). */
function canOnZone(me: Me, permission: string, zone: { id: string; siteId: string }): boolean {
  const scopes = me.permissions.permissions[permission] ?? [];
  return (
    scopes.includes('all') || scopes.includes(`site:${zone.siteId}`) || scopes.includes(`zone:${zone.id}`)
  );
}

/** Sites and zones, each zone with its target security level (SL-T) per foundational requirement. */
export function ZonesPage() {
  const me = useMe();
  const sites = useLoad(() => api.get<Site[]>('/api/sites'));
  const zones = useLoad(() => api.get<Zone[]>('/api/zones'));
  const reload = () => {
    sites.reload();
    zones.reload();
  };
  return (
    <>
      <PageHeader title="Zones">
        Sites and their security zones. Each zone has a target security level (SL-T, 0–4) for each of the
        seven IEC 62443 foundational requirements; the compliance view compares what the zone achieves against
        it.
      </PageHeader>
      <ErrorNote error={sites.error ?? zones.error} />
      {sites.data?.map((site) => (
        <section key={site.id} aria-labelledby={`site-${site.id}`} className="site">
          <h2 id={`site-${site.id}`}>
            {site.name} <span className="muted small">site {site.id}</span>
          </h2>
          {site.description && <p className="muted">{site.description}</p>}
          <div className="zone-list">
            {zones.data
              ?.filter((z) => z.siteId === site.id)
              .map((z) => (
                <ZoneCard
                  key={z.id}
                  zone={z}
                  canEdit={canOnZone(me, 'zone.manage', z)}
                  onChanged={zones.reload}
                />
              ))}
          </div>
          {canOnZone(me, 'zone.manage', { id: '', siteId: site.id }) && (
            <CreateZone siteId={site.id} onCreated={reload} />
          )}
        </section>
      ))}
      {me.canEverywhere('zone.manage') && <CreateSite onCreated={reload} />}
    </>
  );
}

function SlBars({ values, label }: { values: number[]; label: string }) {
  return (
    <svg className="sl-bars" viewBox="0 0 140 48" role="img" aria-label={label}>
      {values.map((v, i) => (
        <g key={i}>
          <rect x={i * 20 + 2} y={2} width={16} height={36} className="sl-track" />
          <rect x={i * 20 + 2} y={38 - v * 9} width={16} height={v * 9} className={`sl-fill sl-${v}`} />
          <text x={i * 20 + 10} y={47} className="sl-label">
            {i + 1}
          </text>
        </g>
      ))}
    </svg>
  );
}

function ZoneCard({ zone, canEdit, onChanged }: { zone: Zone; canEdit: boolean; onChanged: () => void }) {
  const [editing, setEditing] = useState(false);
  const [sl, setSl] = useState(zone.slTarget);
  const [name, setName] = useState(zone.name);
  const [description, setDescription] = useState(zone.description);
  const action = useAction();
  const save = async (e: SyntheticEvent) => {
    e.preventDefault();
    const r = await action.run(() =>
      api.patch<Zone>(`/api/zones/${zone.id}`, { name, description, slTarget: sl }),
    );
    if (r) {
      setEditing(false);
      onChanged();
    }
  };
  const vector = `SL-T ${zone.slTarget.join(' ')}`;
  return (
    <article className="card zone" aria-labelledby={`zone-${zone.id}`}>
      <h3 id={`zone-${zone.id}`} className="card-title">
        {zone.name} <span className="muted small">zone {zone.id}</span>
      </h3>
      {zone.description && <p className="muted">{zone.description}</p>}
      {!editing ? (
        <>
          <SlBars values={zone.slTarget} label={`Target security levels of ${zone.name}: ${vector}`} />
          <table className="sl-table">
            <caption className="sr-only">Target security level per foundational requirement</caption>
            <tbody>
              {FRS.map(([fr, title], i) => (
                <tr key={fr}>
                  <th scope="row" title={title}>
                    {fr} <span className="muted small">{title}</span>
                  </th>
                  <td>SL {zone.slTarget[i]}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {canEdit && (
            <button type="button" className="secondary" onClick={() => setEditing(true)}>
              Edit {zone.name}
            </button>
          )}
        </>
      ) : (
        <form onSubmit={(e) => void save(e)}>
          <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} />
          <TextField
            label="Description"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
          <fieldset>
            <legend>Target security level per foundational requirement</legend>
            <div className="sl-edit">
              {FRS.map(([fr, title], i) => (
                <SelectField
                  key={fr}
                  label={`${fr} ${title}`}
                  value={String(sl[i])}
                  onChange={(e) => setSl((cur) => cur.map((v, j) => (j === i ? Number(e.target.value) : v)))}
                  options={[0, 1, 2, 3, 4].map((n) => ({ value: String(n), label: `SL ${n}` }))}
                />
              ))}
            </div>
          </fieldset>
          <ErrorNote error={action.error} />
          <div className="row">
            <button type="submit" disabled={action.busy}>
              Save
            </button>
            <button type="button" className="secondary" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </article>
  );
}

function CreateZone({ siteId, onCreated }: { siteId: string; onCreated: () => void }) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [level, setLevel] = useState('2');
  const action = useAction();
  return (
    <form
      className="panel"
      aria-label={`Add a zone to site ${siteId}`}
      onSubmit={(e) => {
        e.preventDefault();
        void action
          .run(() =>
            api.post('/api/zones', {
              id,
              siteId,
              name,
              description: '',
              slTarget: Array(7).fill(Number(level)) as number[],
            }),
          )
          .then((r) => {
            if (r) {
              setId('');
              setName('');
              onCreated();
            }
          });
      }}
    >
      <h3>Add a zone</h3>
      <div className="row wrap">
        <TextField
          label="Zone id"
          value={id}
          onChange={(e) => setId(e.target.value)}
          hint="Lower-case letters, digits and dashes."
        />
        <TextField label="Zone name" value={name} onChange={(e) => setName(e.target.value)} />
        <SelectField
          label="Target level for every FR"
          value={level}
          onChange={(e) => setLevel(e.target.value)}
          options={[1, 2, 3, 4].map((n) => ({ value: String(n), label: `SL ${n}` }))}
          hint="Fine-tune each FR afterwards."
        />
      </div>
      <ErrorNote error={action.error} />
      <button type="submit" disabled={action.busy || id === '' || name === ''}>
        Add zone
      </button>
    </form>
  );
}

function CreateSite({ onCreated }: { onCreated: () => void }) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const action = useAction();
  return (
    <form
      className="panel"
      aria-labelledby="create-site"
      onSubmit={(e) => {
        e.preventDefault();
        void action
          .run(() => api.post('/api/sites', { id, name, description: '' }))
          .then((r) => {
            if (r) {
              setId('');
              setName('');
              onCreated();
            }
          });
      }}
    >
      <h2 id="create-site">Add a site</h2>
      <div className="row wrap">
        <TextField
          label="Site id"
          value={id}
          onChange={(e) => setId(e.target.value)}
          hint="Lower-case letters, digits and dashes."
        />
        <TextField label="Site name" value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <ErrorNote error={action.error} />
      <button type="submit" disabled={action.busy || id === '' || name === ''}>
        Add site
      </button>
    </form>
  );
}
