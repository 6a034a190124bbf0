import { useState } from 'react';
import { api, type Approval } from '../api/client';
import type { Account } from '../api/types';
import { useMe } from '../auth/me';
import { SelectField, TextField } from '../ui/fields';
import { ErrorNote } from '../ui/ErrorNote';
import { PageHeader, formatTime, useAction, useLoad } from '../ui/widgets';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Summaries name users by id; show their user names where this person may list accounts. */
export function readable(summary: string, who: (id: string) => string): string {
  return summary.replace(UUID, (id) => who(id));
}

const STATUSES = ['pending', 'approved', 'rejected', 'expired', 'failed'] as const;

/** Four-eyes decisions (approvals.decide): approve or reject what someone else asked for. */
export function ApprovalsPage() {
  const me = useMe();
  const [status, setStatus] = useState<string>('pending');
  const approvals = useLoad(
    () => api.get<Approval[]>(`/api/approvals${status ? `?status=${status}` : ''}`),
    [status],
  );
  const users = useLoad(() =>
    me.canEverywhere('users.manage') ? api.get<Account[]>('/api/users') : Promise.resolve([] as Account[]),
  );
  const name = (id: string | null) =>
    id === null
      ? '—'
      : id === me.session.user.id
        ? 'you'
        : (users.data?.find((u) => u.id === id)?.username ?? id.slice(0, 8));
  return (
    <>
      <PageHeader title="Approvals">
        Actions under dual approval wait here until a second authorised person decides. You cannot approve
        your own requests.
      </PageHeader>
      <div className="row">
        <SelectField
          label="Show"
          value={status}
          onChange={(e) => setStatus(e.target.value)}
          options={[...STATUSES.map((s) => ({ value: s, label: s })), { value: '', label: 'all' }]}
        />
      </div>
      <ErrorNote error={approvals.error} />
      {approvals.data?.length === 0 && <p className="muted">Nothing {status || 'here'}.</p>}
      <ul className="cards">
        {approvals.data?.map((a) => (
          <ApprovalCard key={a.id} approval={a} who={name} onDecided={approvals.reload} />
        ))}
      </ul>
    </>
  );
}

function ApprovalCard({
  approval: a,
  who,
  onDecided,
}: {
  approval: Approval;
  who: (id: string | null) => string;
  onDecided: () => void;
}) {
  const me = useMe();
  const [reason, setReason] = useState('');
  const action = useAction();
  const own = a.requestedBy === me.session.user.id;
  const decide = async (verdict: 'approve' | 'reject') => {
    // Approving takes an optional reason; rejecting requires one.
    const reasonText = reason.trim();
    const r = await action.run(async () => {
      await api.post(`/api/approvals/${a.id}/${verdict}`, reasonText ? { reason: reasonText } : {});
      return true;
    });
    if (r !== undefined) onDecided();
  };
  return (
    <li className="card" aria-labelledby={`appr-${a.id}`}>
      <h2 id={`appr-${a.id}`} className="card-title">
        {readable(a.summary, who)}
      </h2>
      <dl className="facts">
        <dt>Action</dt>
        <dd>{a.action}</dd>
        <dt>Requested by</dt>
        <dd>
          {who(a.requestedBy)} at {formatTime(a.requestedAt)}
        </dd>
        <dt>Status</dt>
        <dd>
          <span
            className={`badge ${a.status === 'approved' ? 'badge-good' : a.status === 'pending' ? '' : 'badge-bad'}`}
          >
            {a.status}
          </span>
          {a.status === 'pending'
            ? ` — expires ${formatTime(a.expiresAt)}`
            : ` by ${who(a.decidedBy)} at ${formatTime(a.decidedAt)}`}
        </dd>
        {a.decisionReason && (
          <>
            <dt>Reason</dt>
            <dd>{a.decisionReason}</dd>
          </>
        )}
      </dl>
      {a.status === 'pending' &&
        (own ? (
          <p className="muted">Your own request: another person must decide.</p>
        ) : (
          <div className="row wrap">
            <TextField
              label="Reason (required to reject)"
              value={reason}
              maxLength={500}
              onChange={(e) => setReason(e.target.value)}
            />
            <button type="button" disabled={action.busy} onClick={() => void decide('approve')}>
              Approve
            </button>
            <button
              type="button"
              className="danger"
              disabled={action.busy || reason.trim() === ''}
              onClick={() => void decide('reject')}
            >
              Reject
            </button>
          </div>
        ))}
      <ErrorNote error={action.error} />
    </li>
  );
}
