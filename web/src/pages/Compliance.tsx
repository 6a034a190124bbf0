import { useState, type SyntheticEvent } from 'react';
import { api } from '../api/client';
import type { ComplianceResults, FrGap, RequirementResult, ZoneEvaluation } from '../api/types';
import { useMe } from '../auth/me';
import { href, navigate, useRoute } from '../nav/router';
import { SelectField, TextField } from '../ui/fields';
import { ErrorNote } from '../ui/ErrorNote';
import { ConfirmButton, PageHeader, Progress, formatTime, useAction, useLoad } from '../ui/widgets';
import { FRS } from './Zones';

const STATUS_WORDS: Record<string, string> = {
  met: 'met',
  'not-met': 'not met',
  'not-applicable': 'not applicable',
  'not-assessed': 'not assessed',
};

/**
 * IEC 62443-3-3 compliance per zone (compliance.read): achieved against target security level per
 * foundational requirement, the gap list, every requirement with its evidence or attestation,
 * attestation entry (compliance.attest), and the signed evidence pack. The zone and the requirement
 * open are in the address (`#/compliance?zone=…&req=…`), so a finding can be linked.
 */
export function CompliancePage() {
  const route = useRoute();
  const results = useLoad(() => api.get<ComplianceResults>('/api/compliance/results'));
  const zones = results.data?.zones ?? [];
  const zoneId = route.query.get('zone') ?? zones[0]?.zone.id;
  const zone = zones.find((z) => z.zone.id === zoneId);
  const requirement = route.query.get('req') ?? undefined;
  return (
    <>
      <PageHeader title="Compliance">
        What each zone achieves (SL-A) against its target (SL-T) for the seven IEC 62443-3-3 foundational
        requirements, computed from facts the system observes about itself. Unknown is never counted as met.
      </PageHeader>
      <ErrorNote error={results.error} />
      {results.loading && <Progress label="Collecting facts and evaluating" />}
      {results.data && (
        <p className="muted small">
          Evaluated {formatTime(results.data.evaluatedAt)} against {results.data.catalogueVersion}.{' '}
          <button type="button" className="link" onClick={results.reload}>
            Evaluate again
          </button>
        </p>
      )}
      {results.data && results.data.facts.errors.length > 0 && (
        <div className="note note-error" role="alert">
          Some facts could not be collected, so the requirements that read them count as not assessed:{' '}
          {results.data.facts.errors.map((e) => `${e.source}: ${e.message}`).join('; ')}
        </div>
      )}
      {zones.length > 1 && (
        <div className="tabs" role="group" aria-label="Zone">
          {zones.map((z) => (
            <button
              key={z.zone.id}
              type="button"
              aria-pressed={z.zone.id === zoneId}
              onClick={() => navigate('/compliance', { zone: z.zone.id })}
            >
              {z.zone.name}
            </button>
          ))}
        </div>
      )}
      {zone && (
        <div className="split split-wide">
          <div>
            <LevelsChart zone={zone} />
            <Requirements zone={zone} open={requirement} onChanged={results.reload} />
          </div>
          <aside className="side-panels">
            <GapList zone={zone} />
            <PackPanel />
          </aside>
        </div>
      )}
    </>
  );
}

/** One pair of bars per FR: the target as an outline, the achieved level filled; red where short. */
function LevelsChart({ zone }: { zone: ZoneEvaluation }) {
  const short = zone.slAchieved.filter((a, i) => a < (zone.slTarget[i] ?? 0)).length;
  const label = `${zone.zone.name}: ${FRS.map(([fr], i) => `${fr} achieved ${zone.slAchieved[i]} of target ${zone.slTarget[i]}`).join('; ')}`;
  return (
    <section className="panel" aria-labelledby="levels-title">
      <h2 id="levels-title">
        {zone.zone.name}: SL-A {zone.slAchieved.join(' ')} against SL-T {zone.slTarget.join(' ')}
      </h2>
      <p className={short ? 'note note-error' : 'note note-ok'}>
        {short === 0
          ? 'Every foundational requirement reaches its target level.'
          : `${short} of 7 foundational requirements fall short of their target.`}
      </p>
      <svg className="sl-chart" viewBox="0 0 700 190" role="img" aria-label={label}>
        {[0, 1, 2, 3, 4].map((l) => (
          <g key={l}>
            <line x1={30} x2={700} y1={160 - l * 35} y2={160 - l * 35} className="grid" />
            <text x={20} y={164 - l * 35} className="axis">
              {l}
            </text>
          </g>
        ))}
        {FRS.map(([fr], i) => {
          const a = zone.slAchieved[i] ?? 0;
          const t = zone.slTarget[i] ?? 0;
          const x = 45 + i * 94;
          return (
            <g key={fr}>
              <rect x={x} y={160 - t * 35} width={36} height={t * 35} className="target" />
              <rect
                x={x + 40}
                y={160 - a * 35}
                width={36}
                height={a * 35}
                className={a >= t ? 'achieved ok' : 'achieved short'}
              />
              {zone.compensated[i] && (
                <text x={x + 58} y={150 - a * 35} className="axis">
                  *
                </text>
              )}
              <text x={x + 38} y={182} className="fr">
                {fr}
              </text>
            </g>
          );
        })}
      </svg>
      <p className="legend small muted">
        <span className="key key-target" /> target (SL-T) <span className="key key-ok" /> achieved, on target{' '}
        <span className="key key-short" /> achieved, short of target · * relies on a compensating
        countermeasure
      </p>
    </section>
  );
}

function GapList({ zone }: { zone: ZoneEvaluation }) {
  const gaps = zone.gaps.filter((g: FrGap) => g.toTarget.length > 0);
  return (
    <section className="panel" aria-labelledby="gaps-title">
      <h2 id="gaps-title">Gaps to target</h2>
      {gaps.length === 0 && <p className="muted">None: this zone reaches its target.</p>}
      {gaps.map((g) => (
        <details key={g.fr} className="gap">
          <summary>
            FR{g.fr} {g.code}: SL {g.achieved} of {g.target}{' '}
            <span className="muted small">
              ({g.toTarget.length} {g.toTarget.length === 1 ? 'requirement' : 'requirements'} to meet)
            </span>
          </summary>
          <ul className="plain gaps">
            {g.toTarget.map((item) => (
              <li key={item.requirement}>
                <a href={href('/compliance', { zone: zone.zone.id, req: item.requirement })}>
                  <strong>{item.requirement}</strong> {item.title}
                </a>{' '}
                <span className="badge badge-bad">{STATUS_WORDS[item.status]}</span>
                <div className="small muted">
                  SL {item.level}: {item.remedy || item.reason}
                </div>
              </li>
            ))}
          </ul>
        </details>
      ))}
    </section>
  );
}

function Requirements({
  zone,
  open,
  onChanged,
}: {
  zone: ZoneEvaluation;
  open: string | undefined;
  onChanged: () => void;
}) {
  const [fr, setFr] = useState('all');
  const [status, setStatus] = useState('all');
  const rows = zone.results.filter(
    (r) => (fr === 'all' || String(r.fr) === fr) && (status === 'all' || r.status === status),
  );
  const selected = zone.results.find((r) => r.requirement === open);
  return (
    <section aria-labelledby="reqs-title">
      <h2 id="reqs-title">Requirements</h2>
      <div className="row wrap">
        <SelectField
          label="Foundational requirement"
          value={fr}
          onChange={(e) => setFr(e.target.value)}
          options={[
            { value: 'all', label: 'all' },
            ...FRS.map(([code, title], i) => ({ value: String(i + 1), label: `${code} ${title}` })),
          ]}
        />
        <SelectField
          label="Status"
          value={status}
          onChange={(e) => setStatus(e.target.value)}
          options={[
            { value: 'all', label: 'any' },
            ...Object.entries(STATUS_WORDS).map(([value, label]) => ({ value, label })),
          ]}
        />
      </div>
      {selected && (
        <RequirementDetail key={selected.requirement} zone={zone} result={selected} onChanged={onChanged} />
      )}
      <table>
        <caption className="sr-only">Requirements of {zone.zone.name}</caption>
        <thead>
          <tr>
            <th scope="col">Requirement</th>
            <th scope="col">From SL</th>
            <th scope="col">Status</th>
            <th scope="col">Basis</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.requirement} aria-selected={r.requirement === open}>
              <td>
                <a href={href('/compliance', { zone: zone.zone.id, req: r.requirement })}>
                  <strong>{r.requirement}</strong> {r.title}
                </a>
              </td>
              <td>{r.level ?? '—'}</td>
              <td>
                <span
                  className={`badge ${r.status === 'met' || r.status === 'not-applicable' ? 'badge-good' : 'badge-bad'}`}
                >
                  {STATUS_WORDS[r.status]}
                </span>
              </td>
              <td>{r.kind === 'pending' ? 'not built yet' : r.basis}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function RequirementDetail({
  zone,
  result: r,
  onChanged,
}: {
  zone: ZoneEvaluation;
  result: RequirementResult;
  onChanged: () => void;
}) {
  const me = useMe();
  const action = useAction();
  return (
    <article className="panel detail-panel" aria-labelledby="req-detail">
      <h3 id="req-detail">
        {r.requirement} {r.title}
      </h3>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          {STATUS_WORDS[r.status]} ({r.basis}){r.level !== null && `, counts from SL ${r.level}`}
        </dd>
        <dt>Why</dt>
        <dd>{r.check.reason}</dd>
        {r.remedy && (
          <>
            <dt>To meet it</dt>
            <dd>{r.remedy}</dd>
          </>
        )}
      </dl>
      {r.evidence.length > 0 && (
        <>
          <h4>Evidence observed</h4>
          <table className="evidence">
            <caption className="sr-only">Facts read by the check</caption>
            <thead>
              <tr>
                <th scope="col">Fact</th>
                <th scope="col">Value</th>
                <th scope="col">Source</th>
                <th scope="col">Observed</th>
              </tr>
            </thead>
            <tbody>
              {r.evidence.map((f) => (
                <tr key={`${f.key}-${f.zone ?? ''}`}>
                  <td>
                    <code>{f.key}</code>
                  </td>
                  <td>
                    <code>{JSON.stringify(f.value)}</code>
                  </td>
                  <td>{f.source}</td>
                  <td>{formatTime(f.observedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {r.attestation && (
        <div className="note note-info">
          <strong>Attested {r.attestation.verdict === 'met' ? 'met' : 'not applicable'}</strong> by{' '}
          {r.attestation.attestedBy.name} on {formatTime(r.attestation.createdAt)}, until{' '}
          {formatTime(r.attestation.expiresAt)}: “{r.attestation.statement}”
          {me.canEverywhere('compliance.attest') && (
            <div className="row">
              <ConfirmButton
                label="Revoke attestation"
                confirmLabel="Revoke it"
                danger
                onConfirm={async () => {
                  const ok = await action.run(() =>
                    api.post(`/api/compliance/attestations/${r.attestation!.id}/revoke`),
                  );
                  if (ok !== undefined) onChanged();
                }}
              />
            </div>
          )}
        </div>
      )}
      {r.countermeasure && (
        <div className="note note-info">
          <strong>Compensating countermeasure</strong> recorded by {r.countermeasure.recordedBy.name}, until{' '}
          {formatTime(r.countermeasure.expiresAt)}: “{r.countermeasure.description}”
        </div>
      )}
      <ErrorNote error={action.error} />
      {r.kind === 'attestation' && me.canEverywhere('compliance.attest') && (
        <AttestationForm zone={zone} requirement={r.requirement} onRecorded={onChanged} />
      )}
      {r.kind === 'attestation' && !me.canEverywhere('compliance.attest') && !r.attestation && (
        <p className="muted">
          An organisational requirement: a person with the compliance.attest permission records whether it is
          met.
        </p>
      )}
    </article>
  );
}

function AttestationForm({
  zone,
  requirement,
  onRecorded,
}: {
  zone: ZoneEvaluation;
  requirement: string;
  onRecorded: () => void;
}) {
  const [verdict, setVerdict] = useState('met');
  const [statement, setStatement] = useState('');
  // A year from now by default: attestations expire so that someone looks again.
  const [expires, setExpires] = useState(() =>
    new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10),
  );
  const [scope, setScope] = useState(zone.zone.id);
  const action = useAction();
  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    const r = await action.run(() =>
      api.post('/api/compliance/attestations', {
        requirement,
        zone: scope === '*' ? null : scope,
        verdict,
        statement,
        expiresAt: new Date(`${expires}T23:59:59Z`).toISOString(),
      }),
    );
    if (r !== undefined) {
      setStatement('');
      onRecorded();
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="attest-title">
      <h4 id="attest-title">Record an attestation</h4>
      <div className="row wrap">
        <SelectField
          label="Verdict"
          value={verdict}
          onChange={(e) => setVerdict(e.target.value)}
          options={[
            { value: 'met', label: 'met' },
            { value: 'not-applicable', label: 'not applicable' },
          ]}
        />
        <SelectField
          label="For"
          value={scope}
          onChange={(e) => setScope(e.target.value)}
          options={[
            { value: zone.zone.id, label: `zone ${zone.zone.name}` },
            { value: '*', label: 'every zone' },
          ]}
        />
        <TextField
          label="Valid until"
          type="date"
          value={expires}
          onChange={(e) => setExpires(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor="attest-statement">Statement</label>
        <textarea
          id="attest-statement"
          rows={3}
          value={statement}
          onChange={(e) => setStatement(e.target.value)}
          aria-describedby="attest-hint"
        />
        <div className="hint" id="attest-hint">
          What is in place and where the proof is kept (procedure, ticket, document). It is signed into the
          evidence pack with your name.
        </div>
      </div>
      <ErrorNote error={action.error} />
      <button type="submit" disabled={action.busy || statement.trim() === ''}>
        Record attestation
      </button>
    </form>
  );
}

function PackPanel() {
  const [phase, setPhase] = useState<{ received: number; total?: number | undefined }>();
  const [done, setDone] = useState<{ fileName: string; bytes: number }>();
  const action = useAction();
  const run = async () => {
    setDone(undefined);
    setPhase(undefined);
    const r = await action.run(() =>
      api.download('/api/compliance/pack', (received, total) => setPhase({ received, total })),
    );
    if (r) setDone(r);
  };
  return (
    <section className="panel" aria-labelledby="pack-title">
      <h2 id="pack-title">Evidence pack</h2>
      <p className="hint">
        A signed zip with the report, every result and its evidence, attestations and the audit checkpoint. An
        auditor checks it offline with <code>palisade compliance verify PACK.zip</code>.
      </p>
      <button type="button" disabled={action.busy} onClick={() => void run()}>
        Produce evidence pack
      </button>
      {action.busy &&
        (phase ? (
          <Progress label="Downloading" done={phase.received} total={phase.total} />
        ) : (
          <Progress label="Collecting facts, evaluating and signing the pack" />
        ))}
      <ErrorNote error={action.error} />
      {done && (
        <p className="note note-ok" role="status">
          Saved {done.fileName} ({Math.ceil(done.bytes / 1024)} KiB). Verify it with{' '}
          <code>palisade compliance verify {done.fileName}</code>.
        </p>
      )}
    </section>
  );
}
