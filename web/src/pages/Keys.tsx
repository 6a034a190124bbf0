import { useEffect, useState } from 'react';
import { api, type Approval } from '../api/client';
import type { KekStatus, KeysStatus, SecretInfo } from '../api/types';
import { useMe } from '../auth/me';
import { TextField } from '../ui/fields';
import { ErrorNote } from '../ui/ErrorNote';
import { ApprovalNotice, ConfirmButton, PageHeader, formatTime, useAction, useLoad } from '../ui/widgets';

/**
 * Keys (keys.view): the key provider, each zone's key-encryption key (KEK) and its versions, data-key
 * counts, re-wrap progress after a rotation, signing keys and stored secrets. With keys.manage: rotate a
 * KEK (re-wraps data keys in the background, never the video) and ask to destroy one (always waits for
 * a second person). No key material is ever shown: the API never returns it.
 */
export function KeysPage() {
  const me = useMe();
  const status = useLoad(() => api.get<KeysStatus>('/api/keys/status'));
  const secrets = useLoad(() => api.get<SecretInfo[]>('/api/secrets'));
  const running = status.data?.rewrapJobs.some((j) => j.state === 'running') ?? false;
  const { reload } = status;
  // While a re-wrap runs, follow its progress.
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(reload, 1500);
    return () => clearInterval(timer);
  }, [running, reload]);
  const manage = me.canEverywhere('keys.manage');
  const kekIds = [...new Set(status.data?.keks.map((k) => k.kekId) ?? [])].sort();
  return (
    <>
      <PageHeader title="Keys">
        Video and secrets are sealed with a fresh data key each; data keys are wrapped by a key-encryption key
        (KEK) per zone that never leaves the key provider. Rotation re-wraps data keys, never video;
        destroying a KEK makes everything sealed under it unreadable for good.
      </PageHeader>
      <ErrorNote error={status.error} />
      {status.data && (
        <div className="split split-wide">
          <div>
            <section aria-labelledby="keks-title">
              <h2 id="keks-title">Key-encryption keys</h2>
              {kekIds.length === 0 && (
                <p className="muted">
                  No KEK yet: one is created for a zone when something is first sealed in it.
                </p>
              )}
              {kekIds.map((id) => (
                <Kek
                  key={id}
                  id={id}
                  versions={status.data!.keks.filter((k) => k.kekId === id)}
                  manage={manage}
                  onChanged={reload}
                />
              ))}
            </section>
            <Jobs status={status.data} />
          </div>
          <aside className="side-panels">
            <section className="panel" aria-labelledby="provider-title">
              <h2 id="provider-title">Provider</h2>
              <p>
                {status.data.provider.description}{' '}
                {status.data.provider.hardwareBacked ? (
                  <span className="badge badge-good">hardware</span>
                ) : (
                  <span className="badge badge-bad">software</span>
                )}
              </p>
              {!status.data.provider.hardwareBacked && (
                <p className="hint">
                  Keys are not held in a hardware security module. For SL 3 and above, configure a PKCS#11 HSM
                  (keys.provider in the configuration).
                </p>
              )}
              <dl className="facts">
                <dt>Live data keys</dt>
                <dd>{status.data.dataKeys.live.toLocaleString()}</dd>
                <dt>Destroyed</dt>
                <dd>{status.data.dataKeys.destroyed.toLocaleString()}</dd>
                <dt>Re-wrap errors</dt>
                <dd>{status.data.dataKeys.rewrapErrors.toLocaleString()}</dd>
              </dl>
            </section>
            <section className="panel" aria-labelledby="signing-title">
              <h2 id="signing-title">Signing keys</h2>
              <ul className="plain">
                {status.data.signingKeys.map((k) => (
                  <li key={k.name}>
                    <strong>{k.name}</strong>{' '}
                    <span className="muted small">
                      {k.algorithm}, {k.provider}, since {formatTime(k.createdAt)}
                    </span>
                    <div>
                      <code className="hash">{k.publicKey}</code>
                    </div>
                  </li>
                ))}
              </ul>
            </section>
            <section className="panel" aria-labelledby="secrets-title">
              <h2 id="secrets-title">Stored secrets</h2>
              <ErrorNote error={secrets.error} />
              <p className="hint">Sealed at rest; their values are never shown.</p>
              <ul className="plain">
                {secrets.data?.map((s) => (
                  <li key={s.id}>
                    {s.name}{' '}
                    <span className="muted small">
                      {s.kind}, under {s.kekId}
                    </span>
                  </li>
                ))}
              </ul>
            </section>
          </aside>
        </div>
      )}
    </>
  );
}

function Kek({
  id,
  versions,
  manage,
  onChanged,
}: {
  id: string;
  versions: KekStatus[];
  manage: boolean;
  onChanged: () => void;
}) {
  const [reason, setReason] = useState('');
  const [approval, setApproval] = useState<Approval>();
  const [rotated, setRotated] = useState<string>();
  const action = useAction();
  const active = versions.find((v) => v.state === 'active');
  const sorted = [...versions].sort((a, b) => b.version - a.version);
  return (
    <article className="card" aria-labelledby={`kek-${id}`}>
      <h3 id={`kek-${id}`} className="card-title">
        {id}{' '}
        <span className="muted small">
          {active ? `version ${active.version} active, ${active.ageDays} days old` : 'no active version'}
        </span>
      </h3>
      <table>
        <caption className="sr-only">Versions of the KEK {id}</caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">State</th>
            <th scope="col">Created</th>
            <th scope="col">Data keys wrapped</th>
            <th scope="col">Provider</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((v) => (
            <tr key={v.version}>
              <td>{v.version}</td>
              <td>
                <span
                  className={`badge ${v.state === 'active' ? 'badge-good' : v.state === 'destroyed' ? 'badge-bad' : ''}`}
                >
                  {v.state}
                </span>
              </td>
              <td>{formatTime(v.createdAt)}</td>
              <td>{v.liveDataKeys.toLocaleString()}</td>
              <td>{v.provider}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rotated && (
        <p className="note note-ok" role="status">
          {rotated}
        </p>
      )}
      {approval && <ApprovalNotice approval={approval} />}
      <ErrorNote error={action.error} />
      {manage && active && (
        <div className="row wrap">
          <ConfirmButton
            label={`Rotate ${id}`}
            confirmLabel={`Rotate ${id} now`}
            onConfirm={async () => {
              const r = await action.run(() =>
                api.post<{ fromVersion: number; toVersion: number }>(
                  `/api/keys/keks/${encodeURIComponent(id)}/rotate`,
                ),
              );
              if (r) {
                setRotated(
                  `Version ${r.toVersion} is active; data keys are being re-wrapped from version ${r.fromVersion}.`,
                );
                onChanged();
              }
            }}
          />
          <TextField
            label={`Reason to destroy ${id}`}
            value={reason}
            maxLength={500}
            onChange={(e) => setReason(e.target.value)}
          />
          <ConfirmButton
            label={`Ask to destroy ${id}`}
            confirmLabel="Ask a second person"
            danger
            disabled={reason.trim() === ''}
            onConfirm={async () => {
              const r = await action.run(() =>
                api.post<{ approval: Approval }>(`/api/keys/keks/${encodeURIComponent(id)}/destroy`, {
                  reason: reason.trim(),
                }),
              );
              if (r) {
                setApproval(r.approval);
                setReason('');
              }
            }}
          />
        </div>
      )}
    </article>
  );
}

function Jobs({ status }: { status: KeysStatus }) {
  return (
    <section aria-labelledby="jobs-title">
      <h2 id="jobs-title">Re-wrap jobs</h2>
      {status.rewrapJobs.length === 0 && <p className="muted">None yet: a rotation starts one.</p>}
      <table>
        <caption className="sr-only">Re-wrap jobs, newest first</caption>
        <thead>
          <tr>
            <th scope="col">KEK</th>
            <th scope="col">To version</th>
            <th scope="col">Progress</th>
            <th scope="col">State</th>
            <th scope="col">Started</th>
          </tr>
        </thead>
        <tbody>
          {status.rewrapJobs.map((j) => (
            <tr key={j.jobId}>
              <td>{j.kekId}</td>
              <td>{j.targetVersion}</td>
              <td>
                <progress
                  aria-label={`Re-wrap of ${j.kekId} to version ${j.targetVersion}`}
                  value={j.done}
                  max={Math.max(1, j.total)}
                />{' '}
                {j.done.toLocaleString()} of {j.total.toLocaleString()}
                {j.failed > 0 && <span className="badge badge-bad">{j.failed} failed</span>}
              </td>
              <td>
                <span className={`badge ${j.state === 'completed' ? 'badge-good' : ''}`}>{j.state}</span>
              </td>
              <td>{formatTime(j.startedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
