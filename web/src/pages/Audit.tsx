import { useState, type SyntheticEvent } from 'react';
import { api } from '../api/client';
import type { AuditEvent, AuditPage as Page, Checkpoint, PreparedExport, VerifyReport } from '../api/types';
import { navigate, useRoute } from '../nav/router';
import { SelectField, TextField } from '../ui/fields';
import { ErrorNote } from '../ui/ErrorNote';
import { PageHeader, Progress, formatTime, useAction, useLoad } from '../ui/widgets';

const FILTERS = [
  'from',
  'to',
  'actionPrefix',
  'outcome',
  'actorId',
  'targetType',
  'targetId',
  'zone',
] as const;
type Filter = Partial<Record<(typeof FILTERS)[number], string>>;

/** Common starting points for the action filter (the full catalogue is in docs/audit-log.md). */
const ACTION_HINTS = [
  'auth.login',
  'auth.mfa',
  'session',
  'access.denied',
  'user',
  'role',
  'grant',
  'approval',
  'zone',
  'audit',
  'evidence',
  'video',
  'camera',
  'keys',
  'compliance',
];

const PAGE_SIZE = 50;

/**
 * The audit trail (audit.read): a filterable, paginated table over /api/audit/events (newest first);
 * the current signed checkpoint; verification of the stored log on request; and an export for auditors.
 * Filters live in the address, so a view can be bookmarked or sent to a colleague.
 */
export function AuditPage() {
  const route = useRoute();
  const filter: Filter = {};
  for (const f of FILTERS) {
    const v = route.query.get(f);
    if (v) filter[f] = v;
  }
  const key = JSON.stringify(filter);
  return (
    <>
      <PageHeader title="Audit">
        Every security-relevant action, in a tamper-evident log: each event is a leaf of a Merkle tree whose
        signed checkpoints let anyone verify that nothing was altered, removed or inserted.
      </PageHeader>
      <div className="split split-wide">
        <div>
          <Filters key={`f${key}`} initial={filter} />
          <Events key={key} filter={filter} />
        </div>
        <aside className="side-panels">
          <CheckpointPanel />
          <VerifyPanel />
          <ExportPanel />
        </aside>
      </div>
    </>
  );
}

function toApiTime(local: string): string {
  // datetime-local has no zone: it is the browser's local time.
  return new Date(local).toISOString();
}

function Filters({ initial }: { initial: Filter }) {
  const [f, setF] = useState<Filter>(initial);
  const set = (k: keyof Filter) => (e: { target: { value: string } }) =>
    setF((cur) => ({ ...cur, [k]: e.target.value }));
  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    navigate('/audit', f);
  };
  return (
    <form className="panel filters" onSubmit={submit} aria-labelledby="filters-title">
      <h2 id="filters-title">Search</h2>
      <div className="row wrap">
        <TextField label="From" type="datetime-local" value={f.from ?? ''} onChange={set('from')} />
        <TextField label="To" type="datetime-local" value={f.to ?? ''} onChange={set('to')} />
        <TextField
          label="Action"
          value={f.actionPrefix ?? ''}
          onChange={set('actionPrefix')}
          list="audit-actions"
          placeholder="e.g. auth.login"
          hint="A name or its beginning: auth.login finds auth.login.failed too."
        />
        <datalist id="audit-actions">
          {ACTION_HINTS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <SelectField
          label="Outcome"
          value={f.outcome ?? ''}
          onChange={set('outcome')}
          options={[
            { value: '', label: 'any' },
            { value: 'success', label: 'success' },
            { value: 'denied', label: 'denied' },
            { value: 'failure', label: 'failure' },
          ]}
        />
        <TextField label="Actor id" value={f.actorId ?? ''} onChange={set('actorId')} />
        <TextField
          label="Target type"
          value={f.targetType ?? ''}
          onChange={set('targetType')}
          placeholder="user, zone, session…"
        />
        <TextField label="Target id" value={f.targetId ?? ''} onChange={set('targetId')} />
        <TextField label="Zone" value={f.zone ?? ''} onChange={set('zone')} />
      </div>
      <div className="row">
        <button type="submit">Search</button>
        <button type="button" className="secondary" onClick={() => navigate('/audit')}>
          Clear
        </button>
      </div>
    </form>
  );
}

function Events({ filter }: { filter: Filter }) {
  // Cursors of the pages before this one, to go back.
  const [cursors, setCursors] = useState<string[]>([]);
  const [cursor, setCursor] = useState<string>();
  const [open, setOpen] = useState<number>();
  const page = useLoad(() => {
    const q = new URLSearchParams({ order: 'desc', limit: String(PAGE_SIZE) });
    for (const [k, v] of Object.entries(filter))
      if (v) q.set(k, k === 'from' || k === 'to' ? toApiTime(v) : v);
    if (cursor) q.set('cursor', cursor);
    return api.get<Page>(`/api/audit/events?${q.toString()}`);
  }, [cursor]);
  return (
    <section aria-labelledby="events-title">
      <h2 id="events-title">Events</h2>
      <ErrorNote error={page.error} />
      <table className="events">
        <caption className="sr-only">Audit events, newest first</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Time</th>
            <th scope="col">Action</th>
            <th scope="col">Outcome</th>
            <th scope="col">Who</th>
            <th scope="col">On what</th>
            <th scope="col">
              <span className="sr-only">Details</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {page.data?.events.map(({ index, event }) => (
            <EventRow
              key={index}
              index={index}
              event={event}
              open={open === index}
              onToggle={() => setOpen(open === index ? undefined : index)}
            />
          ))}
        </tbody>
      </table>
      {page.loading && <p role="status">Loading…</p>}
      {page.data?.events.length === 0 && <p className="muted">No event matches.</p>}
      <div className="row pager">
        <button
          type="button"
          className="secondary"
          disabled={cursors.length === 0}
          onClick={() => {
            const prev = cursors.slice(0, -1);
            setCursor(cursors.at(-1) || undefined);
            setCursors(prev);
          }}
        >
          Newer
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!page.data?.nextCursor}
          onClick={() => {
            setCursors((c) => [...c, cursor ?? '']);
            setCursor(page.data?.nextCursor);
          }}
        >
          Older
        </button>
      </div>
    </section>
  );
}

function EventRow({
  index,
  event,
  open,
  onToggle,
}: {
  index: number;
  event: AuditEvent;
  open: boolean;
  onToggle: () => void;
}) {
  const who = event.actor.name ?? event.actor.id;
  return (
    <>
      <tr className={`outcome-${event.outcome}`}>
        <td className="num">{index}</td>
        <td>{formatTime(event.time)}</td>
        <td>
          <code>{event.action}</code>
        </td>
        <td>
          <span className={`badge ${event.outcome === 'success' ? 'badge-good' : 'badge-bad'}`}>
            {event.outcome}
          </span>
        </td>
        <td>
          {who}
          {event.actor.address && <div className="muted small">{event.actor.address}</div>}
        </td>
        <td>
          {event.target
            ? `${event.target.type} ${event.target.id.length > 24 ? `${event.target.id.slice(0, 8)}…` : event.target.id}`
            : '—'}
        </td>
        <td>
          <button
            type="button"
            className="link"
            aria-expanded={open}
            onClick={onToggle}
            aria-label={`Details of event ${index}`}
          >
            {open ? 'Hide' : 'Details'}
          </button>
        </td>
      </tr>
      {open && (
        <tr className="event-detail">
          <td colSpan={7}>
            {event.reason && (
              <p>
                <strong>Reason:</strong> {event.reason}
              </p>
            )}
            <pre>{JSON.stringify(event, null, 2)}</pre>
          </td>
        </tr>
      )}
    </>
  );
}

function CheckpointPanel() {
  const checkpoint = useLoad(() => api.get<Checkpoint>('/api/audit/checkpoint'));
  const action = useAction();
  return (
    <section className="panel" aria-labelledby="cp-title">
      <h2 id="cp-title">Current checkpoint</h2>
      {checkpoint.error !== undefined && (checkpoint.error as { code?: string }).code === 'NOT_FOUND' ? (
        <p className="muted">No checkpoint signed yet.</p>
      ) : (
        <ErrorNote error={checkpoint.error} />
      )}
      {checkpoint.data && (
        <dl className="facts">
          <dt>Tree size</dt>
          <dd data-testid="tree-size">{checkpoint.data.size.toLocaleString()} events</dd>
          <dt>Root hash</dt>
          <dd>
            <code className="hash">{checkpoint.data.rootHash}</code>
          </dd>
          <dt>Origin</dt>
          <dd>{checkpoint.data.origin}</dd>
          <dt>Signed by</dt>
          <dd>
            <code className="hash">{checkpoint.data.verifierKey}</code>
          </dd>
        </dl>
      )}
      {checkpoint.data && (
        <details>
          <summary>Signed note</summary>
          <pre>{checkpoint.data.note}</pre>
        </details>
      )}
      <ErrorNote error={action.error} />
      <button
        type="button"
        className="secondary"
        disabled={action.busy}
        onClick={() =>
          void action.run(() => api.post('/api/audit/checkpoint')).then(() => checkpoint.reload())
        }
      >
        Sign a checkpoint now
      </button>
    </section>
  );
}

function VerifyPanel() {
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [report, setReport] = useState<VerifyReport>();
  const action = useAction();
  const run = async () => {
    setReport(undefined);
    setProgress(undefined);
    const r = await action.run(() =>
      api.stream<{ report: VerifyReport }>('/api/audit/verify', (done, total) =>
        setProgress({ done, total }),
      ),
    );
    if (r) setReport(r.report);
  };
  return (
    <section className="panel" aria-labelledby="verify-title">
      <h2 id="verify-title">Verify the log</h2>
      <p className="hint">
        Recomputes the tree from every stored event and checks it against every signed checkpoint.
      </p>
      <button type="button" disabled={action.busy} onClick={() => void run()}>
        Verify now
      </button>
      {action.busy && <Progress label="Verifying" done={progress?.done} total={progress?.total} />}
      <ErrorNote error={action.error} />
      {report &&
        (report.ok ? (
          <div className="note note-ok" role="status">
            <strong>Verified.</strong> {report.entries.toLocaleString()} events match {report.checkpoints}{' '}
            signed checkpoints. Tree size {report.treeSize.toLocaleString()}, root{' '}
            <code className="hash">{base64ToHex(report.rootHash)}</code>
          </div>
        ) : (
          <div className="note note-error" role="alert">
            <strong>Verification failed.</strong>{' '}
            {report.failure?.index !== null && report.failure?.index !== undefined
              ? `The first bad event is #${report.failure.index}: `
              : ''}
            {report.failure?.reason}. Export the log and run <code>palisade audit verify</code> offline, and
            tell your security officer.
          </div>
        ))}
    </section>
  );
}

function ExportPanel() {
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [prepared, setPrepared] = useState<PreparedExport>();
  const action = useAction();
  const run = async () => {
    setPrepared(undefined);
    setProgress(undefined);
    const r = await action.run(() =>
      api.stream<{ export: PreparedExport }>('/api/audit/exports', (done, total) =>
        setProgress({ done, total }),
      ),
    );
    if (r) setPrepared(r.export);
  };
  return (
    <section className="panel" aria-labelledby="export-title">
      <h2 id="export-title">Export for auditors</h2>
      <p className="hint">
        A folder an auditor verifies offline with <code>palisade audit verify</code>, as a tar archive. From
        the server itself: <code>palisade audit export --out DIR</code>.
      </p>
      <button type="button" disabled={action.busy} onClick={() => void run()}>
        Prepare export
      </button>
      {action.busy && <Progress label="Exporting" done={progress?.done} total={progress?.total} />}
      <ErrorNote error={action.error} />
      {prepared && (
        <div className="note note-ok" role="status">
          <p>
            Ready: {prepared.entries.toLocaleString()} events up to a checkpoint of size{' '}
            {prepared.treeSize.toLocaleString()}, {formatBytes(prepared.bytes)}.
          </p>
          <a className="button" href={prepared.download} download={prepared.fileName}>
            Download {prepared.fileName}
          </a>
          <p className="hint">The link works for you until {formatTime(prepared.expiresAt)}.</p>
        </div>
      )}
    </section>
  );
}

/** Verification reports give the root in base64 (as checkpoint notes do); the page shows hashes in hex. */
function base64ToHex(b64: string): string {
  return Array.from(
    Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)),
    (b) => b.toString(16).padStart(2, '0'),
  ).join('');
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
