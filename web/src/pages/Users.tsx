import { useState, type SyntheticEvent } from 'react';
import { api, type Approval } from '../api/client';
import type { Account, Grant, PermissionInfo, Role } from '../api/types';
import { useMe } from '../auth/me';
import { CheckField, SelectField, TextField } from '../ui/fields';
import { ErrorNote } from '../ui/ErrorNote';
import {
  ApprovalNotice,
  ConfirmButton,
  OneTimeSecret,
  PageHeader,
  formatTime,
  useAction,
  useLoad,
} from '../ui/widgets';
import { describeScope, scopeOptions } from './scopes';

/** Accounts (users.manage) and roles with their grants (roles.manage). */
export function UsersPage() {
  const me = useMe();
  const canUsers = me.canEverywhere('users.manage');
  const canRoles = me.canEverywhere('roles.manage');
  const [tab, setTab] = useState<'accounts' | 'roles'>(canUsers ? 'accounts' : 'roles');
  return (
    <>
      <PageHeader title="Users & roles">
        People’s accounts, what each may do (a role on a scope), and the roles themselves.
      </PageHeader>
      {canUsers && canRoles && (
        <div className="tabs" role="group" aria-label="Show">
          <button type="button" aria-pressed={tab === 'accounts'} onClick={() => setTab('accounts')}>
            Accounts
          </button>
          <button type="button" aria-pressed={tab === 'roles'} onClick={() => setTab('roles')}>
            Roles
          </button>
        </div>
      )}
      {tab === 'accounts' && canUsers ? <Accounts canRoles={canRoles} /> : <Roles />}
    </>
  );
}

function Accounts({ canRoles }: { canRoles: boolean }) {
  const users = useLoad(() => api.get<Account[]>('/api/users'));
  const [selected, setSelected] = useState<string>();
  const [created, setCreated] = useState<{ username: string; password: string }>();
  const humans = users.data?.filter((u) => u.kind === 'human') ?? [];
  const account = users.data?.find((u) => u.id === selected);
  return (
    <div className="split">
      <section aria-labelledby="accounts-title">
        <h2 id="accounts-title">Accounts</h2>
        <ErrorNote error={users.error} />
        {created && (
          <OneTimeSecret
            label={`One-time password for ${created.username}`}
            value={created.password}
            onDone={() => setCreated(undefined)}
          />
        )}
        <table>
          <caption className="sr-only">People’s accounts</caption>
          <thead>
            <tr>
              <th scope="col">User name</th>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Last sign-in</th>
            </tr>
          </thead>
          <tbody>
            {humans.map((u) => (
              <tr key={u.id} aria-selected={u.id === selected}>
                <td>
                  <button type="button" className="link" onClick={() => setSelected(u.id)}>
                    {u.username}
                  </button>
                </td>
                <td>{u.displayName}</td>
                <td>
                  <AccountStatus account={u} />
                </td>
                <td>{formatTime(u.lastLoginAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {users.loading && <p role="status">Loading…</p>}
        <CreateUser
          onCreated={(username, password, id) => {
            setCreated({ username, password });
            setSelected(id);
            users.reload();
          }}
        />
      </section>
      {account && (
        <AccountDetail key={account.id} account={account} canRoles={canRoles} onChanged={users.reload} />
      )}
    </div>
  );
}

export function AccountStatus({ account }: { account: Account }) {
  const tags: string[] = [];
  if (account.disabled) tags.push('disabled');
  if (account.mustChangePassword) tags.push('must change password');
  if (account.sso) tags.push('single sign-on');
  if (tags.length === 0) tags.push('active');
  return (
    <>
      {tags.map((t) => (
        <span
          key={t}
          className={`badge ${t === 'disabled' ? 'badge-bad' : t === 'active' ? 'badge-good' : ''}`}
        >
          {t}
        </span>
      ))}
    </>
  );
}

function CreateUser({ onCreated }: { onCreated: (username: string, password: string, id: string) => void }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const action = useAction();
  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    const r = await action.run(() =>
      api.post<{ user: Account; oneTimePassword: string }>('/api/users', { username, displayName }),
    );
    if (r) {
      onCreated(r.user.username, r.oneTimePassword, r.user.id);
      setUsername('');
      setDisplayName('');
    }
  };
  return (
    <form className="panel" onSubmit={(e) => void submit(e)} aria-labelledby="create-user-title">
      <h3 id="create-user-title">Add a person</h3>
      <div className="row">
        <TextField label="User name" value={username} onChange={(e) => setUsername(e.target.value)} />
        <TextField
          label="Display name"
          value={displayName}
          onChange={(e) => setDisplayName(e.target.value)}
        />
      </div>
      <p className="hint">
        They get a one-time password, change it at first sign-in, then set up a second factor.
      </p>
      <ErrorNote error={action.error} />
      <button type="submit" disabled={action.busy || username.length < 2 || displayName === ''}>
        Add person
      </button>
    </form>
  );
}

function AccountDetail({
  account,
  canRoles,
  onChanged,
}: {
  account: Account;
  canRoles: boolean;
  onChanged: () => void;
}) {
  const me = useMe();
  const action = useAction();
  const [secret, setSecret] = useState<string>();
  const [done, setDone] = useState<string>();
  const act = async (what: string, fn: () => Promise<unknown>) => {
    setDone(undefined);
    const r = await action.run(async () => {
      await fn();
      return true;
    });
    if (r) {
      setDone(what);
      onChanged();
    }
  };
  const self = account.id === me.session.user.id;
  return (
    <section className="detail" aria-labelledby="detail-title">
      <h2 id="detail-title">
        {account.displayName} <span className="muted">({account.username})</span>
      </h2>
      <p>
        <AccountStatus account={account} /> Created {formatTime(account.createdAt)}.
      </p>
      {secret && (
        <OneTimeSecret
          label={`New one-time password for ${account.username}`}
          value={secret}
          onDone={() => setSecret(undefined)}
        />
      )}
      {done && (
        <p className="note note-ok" role="status">
          {done}
        </p>
      )}
      <ErrorNote error={action.error} />
      <div className="row wrap">
        <ConfirmButton
          label="Reset password"
          confirmLabel="Reset and end their sessions"
          onConfirm={() =>
            act('Password reset: hand over the one-time password.', async () =>
              setSecret(
                (await api.post<{ oneTimePassword: string }>(`/api/users/${account.id}/password-reset`))
                  .oneTimePassword,
              ),
            )
          }
        />
        <button
          type="button"
          className="secondary"
          onClick={() => void act('Sign-in lock cleared.', () => api.post(`/api/users/${account.id}/unlock`))}
        >
          Unlock sign-in
        </button>
        <ConfirmButton
          label="Remove second factors"
          confirmLabel="Remove; they enrol again"
          onConfirm={() => act('Second factors removed.', () => api.delete(`/api/users/${account.id}/mfa`))}
        />
        <ConfirmButton
          label={account.disabled ? 'Enable account' : 'Disable account'}
          confirmLabel={account.disabled ? 'Enable' : 'Disable and end sessions'}
          danger={!account.disabled}
          disabled={self}
          onConfirm={() =>
            act(account.disabled ? 'Account enabled.' : 'Account disabled; its sessions ended.', () =>
              api.patch(`/api/users/${account.id}`, { disabled: !account.disabled }),
            )
          }
        />
        <ConfirmButton
          label="Delete account"
          confirmLabel={`Delete ${account.username} for good`}
          danger
          disabled={self}
          onConfirm={() => act('Account deleted.', () => api.delete(`/api/users/${account.id}`))}
        />
      </div>
      {canRoles && <Grants userId={account.id} username={account.username} />}
    </section>
  );
}

/** A user's grants: role on scope; adding or removing may wait for a second person. */
export function Grants({ userId, username }: { userId: string; username: string }) {
  const me = useMe();
  const grants = useLoad(() => api.get<Grant[]>(`/api/users/${userId}/grants`), [userId]);
  const roles = useLoad(() => api.get<Role[]>('/api/roles'));
  const scopes = useLoad(() => scopeOptions(me.can('zone.view')));
  const [role, setRole] = useState('viewer');
  const [scope, setScope] = useState('all');
  const [pending, setPending] = useState<Approval>();
  const action = useAction();
  const change = async (fn: () => Promise<{ approval?: Approval }>) => {
    setPending(undefined);
    const r = await action.run(fn);
    if (r?.approval) setPending(r.approval);
    grants.reload();
  };
  const roleName = (id: string) => roles.data?.find((r) => r.id === id)?.name ?? id;
  return (
    <section aria-labelledby="grants-title" className="panel">
      <h3 id="grants-title">Roles and where they apply</h3>
      <ErrorNote error={grants.error ?? roles.error ?? scopes.error} />
      {pending && <ApprovalNotice approval={pending} who={(id) => (id === userId ? username : id)} />}
      <ul className="plain">
        {grants.data?.length === 0 && (
          <li className="muted">No roles: this person can sign in but do nothing.</li>
        )}
        {grants.data?.map((g) => (
          <li key={g.id} className="row">
            <span>
              <strong>{roleName(g.roleId)}</strong> on{' '}
              {describeScope(g.scope, scopes.data?.names ?? new Map<string, string>())}
            </span>
            <ConfirmButton
              label="Remove"
              confirmLabel={`Remove ${roleName(g.roleId)}`}
              danger
              onConfirm={() => change(() => api.change('DELETE', `/api/grants/${g.id}`))}
            />
          </li>
        ))}
      </ul>
      <form
        className="row wrap"
        onSubmit={(e) => {
          e.preventDefault();
          void change(() => api.change('POST', `/api/users/${userId}/grants`, { role, scope }));
        }}
      >
        <SelectField
          label="Role"
          value={role}
          onChange={(e) => setRole(e.target.value)}
          options={(roles.data ?? []).map((r) => ({ value: r.id, label: r.name }))}
        />
        <SelectField
          label="Scope"
          value={scope}
          onChange={(e) => setScope(e.target.value)}
          options={scopes.data?.options ?? [{ value: 'all', label: 'Everything' }]}
        />
        <button type="submit" disabled={action.busy}>
          Grant role
        </button>
      </form>
      <ErrorNote error={action.error} />
    </section>
  );
}

function Roles() {
  const roles = useLoad(() => api.get<Role[]>('/api/roles'));
  const catalogue = useLoad(() => api.get<PermissionInfo[]>('/api/permissions'));
  const [pending, setPending] = useState<Approval>();
  const action = useAction();
  const change = async (fn: () => Promise<{ approval?: Approval }>) => {
    setPending(undefined);
    const r = await action.run(fn);
    if (r?.approval) setPending(r.approval);
    roles.reload();
  };
  return (
    <section aria-labelledby="roles-title">
      <h2 id="roles-title">Roles</h2>
      <p className="hint">
        Built-in roles keep their permissions; only whether they require a second factor can change (relaxing
        it lowers the compliance level of identification and authentication).
      </p>
      <ErrorNote error={roles.error ?? catalogue.error ?? action.error} />
      {pending && <ApprovalNotice approval={pending} />}
      <table>
        <caption className="sr-only">Roles and their permissions</caption>
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Permissions</th>
            <th scope="col">Second factor</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {roles.data?.map((r) => (
            <tr key={r.id}>
              <td>
                <strong>{r.name}</strong>
                {r.builtIn && <span className="badge">built-in</span>}
                <div className="muted">{r.description}</div>
              </td>
              <td>
                {r.permissions.map((p) => (
                  <span key={p} className="chip" title={catalogue.data?.find((c) => c.id === p)?.description}>
                    {p}
                  </span>
                ))}
              </td>
              <td>
                <CheckField
                  label="Required"
                  checked={r.mfaRequired}
                  onChange={(e) =>
                    void change(() =>
                      api.change('PATCH', `/api/roles/${r.id}`, { mfaRequired: e.target.checked }),
                    )
                  }
                  aria-label={`Second factor required for ${r.name}`}
                />
              </td>
              <td>
                {!r.builtIn && (
                  <ConfirmButton
                    label="Delete"
                    confirmLabel={`Delete role ${r.name}`}
                    danger
                    onConfirm={() => change(() => api.change('DELETE', `/api/roles/${r.id}`))}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <CreateRole catalogue={catalogue.data ?? []} onChange={change} />
    </section>
  );
}

function CreateRole({
  catalogue,
  onChange,
}: {
  catalogue: PermissionInfo[];
  onChange: (fn: () => Promise<{ approval?: Approval }>) => Promise<void>;
}) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [permissions, setPermissions] = useState<string[]>([]);
  return (
    <form
      className="panel"
      aria-labelledby="create-role-title"
      onSubmit={(e) => {
        e.preventDefault();
        void onChange(() => api.change('POST', '/api/roles', { id, name, description, permissions })).then(
          () => {
            setId('');
            setName('');
            setDescription('');
            setPermissions([]);
          },
        );
      }}
    >
      <h3 id="create-role-title">Create a custom role</h3>
      <div className="row wrap">
        <TextField
          label="Role id"
          value={id}
          onChange={(e) => setId(e.target.value)}
          hint="Letters, digits and dashes."
        />
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} />
        <TextField label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
      </div>
      <fieldset>
        <legend>Permissions</legend>
        <div className="grid-checks">
          {catalogue.map((p) => (
            <CheckField
              key={p.id}
              label={p.id}
              hint={p.description}
              checked={permissions.includes(p.id)}
              onChange={(e) =>
                setPermissions((cur) => (e.target.checked ? [...cur, p.id] : cur.filter((x) => x !== p.id)))
              }
            />
          ))}
        </div>
      </fieldset>
      <button type="submit" disabled={id === '' || name === '' || permissions.length === 0}>
        Create role
      </button>
    </form>
  );
}
