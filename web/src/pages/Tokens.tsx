import { useState, type SyntheticEvent } from 'react';
import { api } from '../api/client';
import type { Account, ApiToken, PermissionInfo } from '../api/types';
import { CheckField, SelectField, TextField } from '../ui/fields';
import { ErrorNote } from '../ui/ErrorNote';
import { ConfirmButton, OneTimeSecret, PageHeader, formatTime, useAction, useLoad } from '../ui/widgets';

/** Service accounts and their API tokens (users.manage). Token secrets are shown once. */
export function TokensPage() {
  const users = useLoad(() => api.get<Account[]>('/api/users'));
  const tokens = useLoad(() => api.get<ApiToken[]>('/api/tokens'));
  const catalogue = useLoad(() => api.get<PermissionInfo[]>('/api/permissions'));
  const [issued, setIssued] = useState<{ name: string; token: string }>();
  const action = useAction();
  const services = users.data?.filter((u) => u.kind === 'service') ?? [];
  const accountName = (id: string) => users.data?.find((u) => u.id === id)?.username ?? id.slice(0, 8);
  return (
    <>
      <PageHeader title="API tokens">
        Software (SIEM forwarders, integrations, scripts) signs in with tokens of a service account. A token
        expires, can be revoked, and never does more than its account’s roles allow; grant roles to service
        accounts under Users & roles.
      </PageHeader>
      <ErrorNote error={users.error ?? tokens.error ?? action.error} />
      {issued && (
        <OneTimeSecret
          label={`API token “${issued.name}”`}
          value={issued.token}
          onDone={() => setIssued(undefined)}
        />
      )}
      <section aria-labelledby="tokens-title">
        <h2 id="tokens-title">Tokens</h2>
        <table>
          <caption className="sr-only">API tokens</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Service account</th>
              <th scope="col">Limited to</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.data?.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>{accountName(t.userId)}</td>
                <td>{t.permissions ? t.permissions.join(', ') : 'its roles'}</td>
                <td>{formatTime(t.expiresAt)}</td>
                <td>{formatTime(t.lastUsedAt)}</td>
                <td>
                  {t.revokedAt ? (
                    <span className="badge badge-bad">revoked</span>
                  ) : new Date(t.expiresAt) < new Date() ? (
                    <span className="badge">expired</span>
                  ) : (
                    <span className="badge badge-good">valid</span>
                  )}
                </td>
                <td>
                  {!t.revokedAt && (
                    <ConfirmButton
                      label="Revoke"
                      confirmLabel={`Revoke ${t.name}`}
                      danger
                      onConfirm={async () => {
                        await action.run(() => api.delete(`/api/tokens/${t.id}`));
                        tokens.reload();
                      }}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {tokens.data?.length === 0 && <p className="muted">No tokens yet.</p>}
      </section>
      <div className="split">
        <IssueToken
          services={services}
          catalogue={catalogue.data ?? []}
          onIssued={(name, token) => {
            setIssued({ name, token });
            tokens.reload();
          }}
        />
        <CreateServiceAccount onCreated={users.reload} />
      </div>
    </>
  );
}

function IssueToken({
  services,
  catalogue,
  onIssued,
}: {
  services: Account[];
  catalogue: PermissionInfo[];
  onIssued: (name: string, token: string) => void;
}) {
  const [account, setAccount] = useState('');
  const [name, setName] = useState('');
  const [days, setDays] = useState('30');
  const [limit, setLimit] = useState<string[]>([]);
  const action = useAction();
  const chosen = account || services[0]?.id || '';
  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    const r = await action.run(() =>
      api.post<{ token: string }>(`/api/service-accounts/${chosen}/tokens`, {
        name,
        lifetimeDays: Number(days),
        ...(limit.length > 0 && { permissions: limit }),
      }),
    );
    if (r) {
      onIssued(name, r.token);
      setName('');
      setLimit([]);
    }
  };
  if (services.length === 0)
    return (
      <section className="panel">
        <h3>Issue a token</h3>
        <p className="muted">Create a service account first.</p>
      </section>
    );
  return (
    <form className="panel" onSubmit={(e) => void submit(e)} aria-labelledby="issue-title">
      <h3 id="issue-title">Issue a token</h3>
      <SelectField
        label="Service account"
        value={chosen}
        onChange={(e) => setAccount(e.target.value)}
        options={services.map((s) => ({ value: s.id, label: `${s.displayName} (${s.username})` }))}
      />
      <TextField label="Token name" value={name} maxLength={64} onChange={(e) => setName(e.target.value)} />
      <TextField
        label="Valid for (days)"
        type="number"
        min={1}
        max={3650}
        value={days}
        onChange={(e) => setDays(e.target.value)}
        hint="The server caps this at its configured maximum (90 days by default)."
      />
      <fieldset>
        <legend>Limit to these permissions (optional)</legend>
        <div className="grid-checks">
          {catalogue.map((p) => (
            <CheckField
              key={p.id}
              label={p.id}
              checked={limit.includes(p.id)}
              onChange={(e) =>
                setLimit((cur) => (e.target.checked ? [...cur, p.id] : cur.filter((x) => x !== p.id)))
              }
            />
          ))}
        </div>
      </fieldset>
      <ErrorNote error={action.error} />
      <button type="submit" disabled={action.busy || name === ''}>
        Issue token
      </button>
    </form>
  );
}

function CreateServiceAccount({ onCreated }: { onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const action = useAction();
  return (
    <form
      className="panel"
      aria-labelledby="svc-title"
      onSubmit={(e) => {
        e.preventDefault();
        void action
          .run(() => api.post('/api/service-accounts', { username, displayName }))
          .then((r) => {
            if (r) {
              setUsername('');
              setDisplayName('');
              onCreated();
            }
          });
      }}
    >
      <h3 id="svc-title">Add a service account</h3>
      <TextField label="Account name" value={username} onChange={(e) => setUsername(e.target.value)} />
      <TextField label="Description" value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
      <ErrorNote error={action.error} />
      <button type="submit" disabled={action.busy || username.length < 2 || displayName === ''}>
        Add service account
      </button>
    </form>
  );
}
