import { api } from '../api/client';
import type { Account, Session } from '../api/types';
import { useMe } from '../auth/me';
import { ErrorNote } from '../ui/ErrorNote';
import { ConfirmButton, PageHeader, formatTime, useAction, useLoad } from '../ui/widgets';

/** Everyone's sessions (sessions.manage), with remote termination (SR 2.6). */
export function SessionsPage() {
  const me = useMe();
  const sessions = useLoad(() => api.get<Session[]>('/api/sessions'));
  const users = useLoad(() =>
    me.canEverywhere('users.manage') ? api.get<Account[]>('/api/users') : Promise.resolve([] as Account[]),
  );
  const action = useAction();
  const name = (id: string) => users.data?.find((u) => u.id === id)?.username ?? id.slice(0, 8);
  return (
    <>
      <PageHeader title="Sessions">
        Who is signed in, from where and how. Ending a session signs that browser out at once.
      </PageHeader>
      <ErrorNote error={sessions.error ?? action.error} />
      <SessionTable
        sessions={sessions.data ?? []}
        userName={name}
        onEnd={async (id) => {
          await action.run(() => api.delete(`/api/sessions/${id}`));
          sessions.reload();
        }}
      />
      {sessions.loading && <p role="status">Loading…</p>}
    </>
  );
}

export function SessionTable({
  sessions,
  userName,
  onEnd,
}: {
  sessions: Session[];
  userName?: (id: string) => string;
  onEnd: (id: string) => Promise<void>;
}) {
  return (
    <table>
      <caption className="sr-only">Sessions</caption>
      <thead>
        <tr>
          {userName && <th scope="col">User</th>}
          <th scope="col">Signed in with</th>
          <th scope="col">State</th>
          <th scope="col">From</th>
          <th scope="col">Started</th>
          <th scope="col">Last active</th>
          <th scope="col">Ends at the latest</th>
          <th scope="col">
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {sessions.map((s) => (
          <tr key={s.id}>
            {userName && <td>{userName(s.userId)}</td>}
            <td>{s.authMethods || '—'}</td>
            <td>{s.state === 'active' ? 'signed in' : s.state.replace(/-/g, ' ')}</td>
            <td>
              {s.address}
              <div className="muted small" title={s.userAgent}>
                {browserName(s.userAgent)}
              </div>
            </td>
            <td>{formatTime(s.createdAt)}</td>
            <td>{formatTime(s.lastSeenAt)}</td>
            <td>{formatTime(s.expiresAt)}</td>
            <td>
              {s.current ? (
                <span className="badge badge-good">this browser</span>
              ) : (
                <ConfirmButton
                  label="End session"
                  confirmLabel="End it now"
                  danger
                  onConfirm={() => onEnd(s.id)}
                />
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function browserName(ua: string): string {
  const m = /(Firefox|Edg|Chrome|Chromium|Safari)\/[\d.]+/.exec(ua);
  return m ? m[0] : ua.slice(0, 40) || 'unknown client';
}
