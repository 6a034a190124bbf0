import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { EvidenceExport, EvidenceState } from '../api/types';
import { useMe } from '../auth/me';
import { ErrorNote } from '../ui/ErrorNote';
import { PageHeader, Progress, formatTime, useAction, useLoad } from '../ui/widgets';
import { formatBytes, useCameraDirectory } from '../video/cameras';

const STATE_WORDS: Record<EvidenceState, string> = {
  'pending-approval': 'waiting for approval',
  running: 'being built',
  ready: 'ready',
  failed: 'failed',
};

const BADGE: Record<EvidenceState, string> = {
  'pending-approval': '',
  running: '',
  ready: 'badge-good',
  failed: 'badge-bad',
};

/**
 * Evidence exports: what was asked for, by whom, and where each one stands — waiting for a second
 * person, being built, ready to download, or failed (and why). Refreshes itself while one is in
 * progress. The server lists only exports of cameras this person may export.
 */
export function ExportsPage() {
  const me = useMe();
  const [mineOnly, setMineOnly] = useState(true);
  const [recipients, setRecipients] = useState('');
  const recipientList = parseRecipients(recipients);
  const exports = useLoad(() => api.get<EvidenceExport[]>('/api/evidence'));
  // Camera names for the list (loaded once; an export outlives a removed camera, so ids remain).
  const dir = useCameraDirectory(me, 0);
  const cameraName = (id: string) => dir.cameras.data?.find((c) => c.id === id)?.name;
  const list = (exports.data ?? []).filter((e) => !mineOnly || e.requestedBy === me.session.user.id);
  const busy = list.some((e) => e.state === 'pending-approval' || e.state === 'running');
  const { reload } = exports;
  useEffect(() => {
    if (!busy) return;
    const timer = setInterval(reload, 2000);
    return () => clearInterval(timer);
  }, [busy, reload]);

  return (
    <>
      <PageHeader title="Exports">
        Evidence packages requested from Playback. A package is signed and can be verified offline with{' '}
        <code>palisade evidence verify</code>; every download is audited.
      </PageHeader>
      <div className="row">
        <button type="button" aria-pressed={mineOnly} onClick={() => setMineOnly(true)}>
          Mine
        </button>
        <button type="button" aria-pressed={!mineOnly} onClick={() => setMineOnly(false)}>
          Everyone’s
        </button>
        <button type="button" className="secondary" onClick={reload}>
          Refresh
        </button>
      </div>
      <div className="field">
        <label htmlFor="export-recipients">Encrypt downloads to (optional)</label>
        <input
          id="export-recipients"
          value={recipients}
          placeholder="age1…, age1…"
          spellCheck={false}
          aria-describedby="export-recipients-help"
          aria-invalid={recipientList === 'invalid'}
          onChange={(ev) => setRecipients(ev.target.value)}
        />
        <div id="export-recipients-help" className="muted small">
          The recipient’s public key from <code>age-keygen</code>. The package is then encrypted with age (
          <code>.zip.age</code>): only the recipient opens it, with <code>age -d -i key</code> or{' '}
          <code>palisade evidence verify --identity key</code>.
        </div>
        {recipientList === 'invalid' && (
          <div className="small" role="alert">
            A recipient looks like age1 followed by 58 letters and digits; separate several with commas.
          </div>
        )}
      </div>
      <ErrorNote error={exports.error} title="Exports could not be loaded" />
      {exports.data && list.length === 0 && (
        <p className="muted">No evidence exports yet. Start one from Playback.</p>
      )}
      {list.length > 0 && (
        <table className="exports">
          <caption className="sr-only">Evidence exports, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Camera</th>
              <th scope="col">Range</th>
              <th scope="col">Reason</th>
              <th scope="col">Requested</th>
              <th scope="col">State</th>
              <th scope="col">Package</th>
            </tr>
          </thead>
          <tbody>
            {list.map((e) => (
              <ExportRow
                key={e.id}
                e={e}
                camera={cameraName(e.cameraId)}
                mine={e.requestedBy === me.session.user.id}
                recipients={recipientList}
              />
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** The recipients typed, `[]` for none, or 'invalid' (the server checks them again). */
function parseRecipients(text: string): string[] | 'invalid' {
  const list = text
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  return list.every((r) => /^age1[02-9ac-hj-np-z]{58}$/.test(r)) ? list : 'invalid';
}

function ExportRow({
  e,
  camera,
  mine,
  recipients,
}: {
  e: EvidenceExport;
  camera: string | undefined;
  mine: boolean;
  recipients: string[] | 'invalid';
}) {
  const action = useAction();
  const [progress, setProgress] = useState<{ done: number; total?: number } | undefined>();
  const [saved, setSaved] = useState<string | undefined>();
  return (
    <tr data-export={e.id}>
      <td>
        {camera ?? e.cameraId}
        {camera && <div className="muted small">{e.cameraId}</div>}
      </td>
      <td>
        {formatTime(e.from)} – {formatTime(e.to)}
      </td>
      <td>
        {e.reason}
        {e.caseId && <div className="muted small">case {e.caseId}</div>}
      </td>
      <td>
        {mine ? 'you' : (e.requestedByName ?? e.requestedBy.slice(0, 8))}
        <div className="muted small">{formatTime(e.createdAt)}</div>
      </td>
      <td>
        <span className={`badge ${BADGE[e.state]}`}>{STATE_WORDS[e.state]}</span>
        {e.state === 'running' && <Progress label="Building the package" />}
        {e.state === 'failed' && e.error && <div className="small">{e.error}</div>}
      </td>
      <td>
        {e.state === 'ready' ? (
          <>
            <button
              type="button"
              disabled={action.busy || recipients === 'invalid'}
              aria-label={`Download the evidence package of ${e.cameraId}, ${formatTime(e.from)}${
                recipients !== 'invalid' && recipients.length > 0 ? ', encrypted' : ''
              }`}
              onClick={() => {
                if (recipients === 'invalid') return;
                setSaved(undefined);
                const query =
                  recipients.length > 0 ? `?recipients=${encodeURIComponent(recipients.join(','))}` : '';
                void action
                  .run(() =>
                    api.save(`/api/evidence/${e.id}/package${query}`, (done, total) =>
                      setProgress({ done, total }),
                    ),
                  )
                  .then((r) => {
                    setProgress(undefined);
                    if (r) setSaved(`Saved ${r.fileName}`);
                  });
              }}
            >
              Download
            </button>
            <div className="muted small">
              {formatBytes(e.size)}
              {e.sha256 && (
                <>
                  {' '}
                  · manifest{' '}
                  <code className="hash" title={e.sha256}>
                    {e.sha256.slice(0, 12)}…
                  </code>
                </>
              )}
            </div>
            {progress && <Progress label="Downloading" done={progress.done} total={progress.total} />}
            {saved && (
              <div className="small" role="status">
                {saved}
              </div>
            )}
            <ErrorNote error={action.error} />
          </>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
    </tr>
  );
}
