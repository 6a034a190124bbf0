import { api, type Approval } from '../api/client';
import type { Session } from '../api/types';
import { useMe } from '../auth/me';
import { ErrorNote } from '../ui/ErrorNote';
import { PageHeader, formatTime, useAction, useLoad } from '../ui/widgets';
import { readable } from './Approvals';
import { SessionTable } from './Sessions';
import type { Account } from '../api/types';

/** What everyone can see about themselves: roles, sessions, and the requests they are waiting on. */
export function MyAccountPage() {
  const me = useMe();
  const sessions = useLoad(() => api.get<Session[]>('/api/me/sessions'));
  const requests = useLoad(() => api.get<Approval[]>('/api/me/approvals'));
  const users = useLoad(() =>
    me.canEverywhere('users.manage') ? api.get<Account[]>('/api/users') : Promise.resolve([] as Account[]),
  );
  const name = (id: string) => users.data?.find((u) => u.id === id)?.username ?? id.slice(0, 8);
  const action = useAction();
  return (
    <>
      <PageHeader title="My account">
        {me.session.user.displayName} ({me.session.user.username}), signed in with{' '}
        {me.session.authMethods || 'password'}; this session ends at the latest{' '}
        {formatTime(me.session.expiresAt)}.
      </PageHeader>
      <section aria-labelledby="my-roles">
        <h2 id="my-roles">My roles</h2>
        {me.permissions.grants.length === 0 ? (
          <p className="muted">You hold no role yet: ask an administrator.</p>
        ) : (
          <ul className="plain">
            {me.permissions.grants.map((g) => (
              <li key={g.grantId}>
                <strong>{g.role}</strong> on {g.scope === 'all' ? 'everything' : g.scope.replace(':', ' ')}
              </li>
            ))}
          </ul>
        )}
        <details>
          <summary>What these allow</summary>
          <ul className="plain">
            {Object.entries(me.permissions.permissions).map(([p, scopes]) => (
              <li key={p}>
                <code>{p}</code> on {scopes.join(', ')}
              </li>
            ))}
          </ul>
        </details>
      </section>
      <section aria-labelledby="my-requests">
        <h2 id="my-requests">My requests waiting for approval</h2>
        <ErrorNote error={requests.error} />
        {requests.data?.length === 0 && (
          <p className="muted">You have made no requests that need a second person.</p>
        )}
        {requests.data && requests.data.length > 0 && (
          <table>
            <caption className="sr-only">My dual-approval requests</caption>
            <thead>
              <tr>
                <th scope="col">Request</th>
                <th scope="col">Asked</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {requests.data.map((a) => (
                <tr key={a.id}>
                  <td>{readable(a.summary, name)}</td>
                  <td>{formatTime(a.requestedAt)}</td>
                  <td>
                    <span
                      className={`badge ${a.status === 'approved' ? 'badge-good' : a.status === 'pending' ? '' : 'badge-bad'}`}
                    >
                      {a.status}
                    </span>
                    {a.decisionReason && <span className="muted"> — {a.decisionReason}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <button type="button" className="secondary" onClick={requests.reload}>
          Refresh
        </button>
      </section>
      <section aria-labelledby="my-sessions">
        <h2 id="my-sessions">My sessions</h2>
        <ErrorNote error={sessions.error ?? action.error} />
        <SessionTable
          sessions={sessions.data ?? []}
          onEnd={async (id) => {
            await action.run(() => api.delete(`/api/me/sessions/${id}`));
            sessions.reload();
          }}
        />
      </section>
    </>
  );
}
