import { useEffect, useRef, useState, type SyntheticEvent } from 'react';
import { api } from '../api/client';
import { ApiError } from '../api/errors';
import type { AuthConfig, SessionState, SignInStep } from '../api/types';
import { CheckField, TextField } from '../ui/fields';
import { ErrorNote } from '../ui/ErrorNote';
import { useAction, useLoad } from '../ui/widgets';
import { QrCode } from './QrCode';
import { createCredential, getAssertion, webauthnAvailable } from './webauthn';

/**
 * The sign-in sequence of docs/http-api.md: notice and password, then whatever the session's state
 * asks for — a forced password change, second-factor enrolment (with recovery codes shown once), or
 * the second factor. Calls `onActive` when the session is fully signed in.
 */
export function SignIn({
  initialState,
  initialError,
  onActive,
}: {
  initialState?: SessionState | undefined;
  initialError?: unknown;
  onActive: () => void;
}) {
  const config = useLoad(() => api.get<AuthConfig>('/api/auth/config'));
  const [state, setState] = useState<SessionState | 'password'>(initialState ?? 'password');
  const [typedPassword, setTypedPassword] = useState('');
  const [recoveryCodes, setRecoveryCodes] = useState<string[]>();
  const heading = useRef<HTMLHeadingElement>(null);

  // Move focus to the new step's heading so keyboard and screen-reader users follow the sequence.
  useEffect(() => heading.current?.focus(), [state, recoveryCodes]);

  const advance = (next: SessionState) => {
    if (next === 'active') onActive();
    else setState(next);
  };

  let title: string;
  let body: React.ReactNode;
  if (recoveryCodes) {
    title = 'Save your recovery codes';
    body = <RecoveryCodes codes={recoveryCodes} onDone={onActive} />;
  } else if (state === 'password') {
    title = 'Sign in';
    body = (
      <PasswordStep
        config={config.data}
        configError={config.error}
        initialError={initialError}
        onStep={(step, password) => {
          setTypedPassword(password);
          advance(step.state);
        }}
      />
    );
  } else if (state === 'needs-password-change') {
    title = 'Choose a new password';
    body = (
      <PasswordChange
        minLength={config.data?.passwordMinLength ?? 12}
        current={typedPassword}
        onStep={(s) => advance(s.state)}
      />
    );
  } else if (state === 'needs-mfa-enrolment') {
    title = 'Set up a second factor';
    body = <Enrolment onEnrolled={(codes) => setRecoveryCodes(codes)} />;
  } else if (state === 'needs-mfa') {
    title = 'Second factor';
    body = <SecondFactor onActive={onActive} />;
  } else {
    title = 'Signed in';
    body = null;
  }

  return (
    <main className="signin">
      <div className="signin-card">
        <div className="brand" aria-hidden="true">
          PALISADE
        </div>
        <h1 ref={heading} tabIndex={-1}>
          {title}
        </h1>
        {body}
      </div>
    </main>
  );
}

function PasswordStep({
  config,
  configError,
  initialError,
  onStep,
}: {
  config: AuthConfig | undefined;
  configError: unknown;
  initialError: unknown;
  onStep: (step: SignInStep, password: string) => void;
}) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [accepted, setAccepted] = useState(false);
  const action = useAction();
  const [shownError, setShownError] = useState<unknown>(initialError);

  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    setShownError(undefined);
    if (!accepted) {
      action.setError(new ApiError('AUTH_NOTICE_REQUIRED', '', 400));
      return;
    }
    const step = await action.run(() =>
      api.post<SignInStep>('/api/auth/login', { username, password, noticeAccepted: true }),
    );
    if (step) onStep(step, password);
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <ErrorNote error={configError} />
      <section className="notice" aria-labelledby="notice-title">
        <h2 id="notice-title">System use notice</h2>
        <p className="notice-text">{config?.notice ?? '…'}</p>
        <CheckField
          label="I have read the notice and accept it"
          checked={accepted}
          onChange={(e) => setAccepted(e.target.checked)}
        />
      </section>
      <TextField
        label="User name"
        autoComplete="username"
        required
        value={username}
        onChange={(e) => setUsername(e.target.value)}
      />
      <TextField
        label="Password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <ErrorNote error={action.error ?? shownError} />
      <div className="row">
        <button type="submit" disabled={action.busy || username === '' || password === ''}>
          {action.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </div>
      {config?.oidc.enabled && (
        <div className="sso">
          <span className="or">or</span>
          {accepted ? (
            <a className="button secondary" href="/api/auth/oidc/start">
              {config.oidc.label}
            </a>
          ) : (
            <button type="button" className="secondary" disabled title="Accept the notice first">
              {config.oidc.label}
            </button>
          )}
        </div>
      )}
    </form>
  );
}

function PasswordChange({
  minLength,
  current: initialCurrent,
  onStep,
}: {
  minLength: number;
  current: string;
  onStep: (step: SignInStep) => void;
}) {
  const [current, setCurrent] = useState(initialCurrent);
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const action = useAction();
  const mismatch = repeat !== '' && next !== repeat;
  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    if (next.length < minLength) {
      action.setError(
        new ApiError('PASSWORD_POLICY', `it must be at least ${minLength} characters long`, 400),
      );
      return;
    }
    if (mismatch) return;
    const step = await action.run(() =>
      api.post<SignInStep>('/api/auth/password', { currentPassword: current, newPassword: next }),
    );
    if (step) onStep(step);
  };
  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <p className="lead">
        Your password must be changed before you go on: this is your first sign-in with a one-time password,
        an administrator reset it, or it has reached its maximum age. Choose a new one that is not among your
        recent passwords.
      </p>
      <TextField
        label="Current password"
        type="password"
        autoComplete="current-password"
        value={current}
        onChange={(e) => setCurrent(e.target.value)}
      />
      <TextField
        label="New password"
        type="password"
        autoComplete="new-password"
        value={next}
        minLength={minLength}
        onChange={(e) => setNext(e.target.value)}
        hint={`At least ${minLength} characters. A few unrelated words work well. Not your user name, not a common password, no keyboard runs like “qwerty”.`}
      />
      <TextField
        label="New password again"
        type="password"
        autoComplete="new-password"
        value={repeat}
        onChange={(e) => setRepeat(e.target.value)}
        aria-invalid={mismatch}
        hint={mismatch ? 'The two passwords differ.' : undefined}
      />
      <ErrorNote error={action.error} />
      <button type="submit" disabled={action.busy || next === '' || mismatch}>
        {action.busy ? 'Saving…' : 'Set password'}
      </button>
    </form>
  );
}

function Enrolment({ onEnrolled }: { onEnrolled: (recoveryCodes: string[]) => void }) {
  const [method, setMethod] = useState<'totp' | 'key'>('totp');
  return (
    <div>
      <p className="lead">
        Your account needs a second factor. Use an authenticator app (a six-digit code that changes every 30
        seconds) or a security key.
      </p>
      <div className="tabs" role="group" aria-label="Kind of second factor">
        <button type="button" aria-pressed={method === 'totp'} onClick={() => setMethod('totp')}>
          Authenticator app
        </button>
        <button type="button" aria-pressed={method === 'key'} onClick={() => setMethod('key')}>
          Security key
        </button>
      </div>
      {method === 'totp' ? (
        <TotpEnrolment onEnrolled={onEnrolled} />
      ) : (
        <KeyEnrolment onEnrolled={onEnrolled} />
      )}
    </div>
  );
}

function TotpEnrolment({ onEnrolled }: { onEnrolled: (codes: string[]) => void }) {
  const secret = useLoad(() => api.post<{ secret: string; uri: string }>('/api/me/mfa/totp'));
  const [code, setCode] = useState('');
  const action = useAction();
  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    const r = await action.run(() =>
      api.post<{ state: string; recoveryCodes: string[] }>('/api/me/mfa/totp/confirm', { code: code.trim() }),
    );
    if (r) onEnrolled(r.recoveryCodes);
  };
  if (secret.error) return <ErrorNote error={secret.error} />;
  if (!secret.data) return <p role="status">Preparing…</p>;
  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <ol className="steps">
        <li>Scan this code with your authenticator app.</li>
      </ol>
      <QrCode text={secret.data.uri} label="QR code to add Palisade to an authenticator app" />
      <p className="hint">
        Cannot scan? Enter this key instead:{' '}
        <code className="secret" data-testid="totp-secret">
          {secret.data.secret.replace(/(.{4})/g, '$1 ').trim()}
        </code>
      </p>
      <ol className="steps" start={2}>
        <li>Type the six-digit code the app shows.</li>
      </ol>
      <TextField
        label="Code from the app"
        inputMode="numeric"
        autoComplete="one-time-code"
        maxLength={8}
        value={code}
        onChange={(e) => setCode(e.target.value)}
      />
      <ErrorNote error={action.error} />
      <button type="submit" disabled={action.busy || code.trim().length < 6}>
        {action.busy ? 'Checking…' : 'Confirm'}
      </button>
    </form>
  );
}

function KeyEnrolment({ onEnrolled }: { onEnrolled: (codes: string[]) => void }) {
  const [name, setName] = useState('Security key');
  const action = useAction();
  if (!webauthnAvailable())
    return (
      <p className="note note-info">This browser cannot use security keys here. Use an authenticator app.</p>
    );
  const enrol = async (e: SyntheticEvent) => {
    e.preventDefault();
    const r = await action.run(async () => {
      const options = await api.post<Record<string, unknown>>('/api/me/mfa/webauthn/options');
      const response = await createCredential(options);
      return api.post<{ recoveryCodes: string[] }>('/api/me/mfa/webauthn', { response, name });
    });
    if (r) onEnrolled(r.recoveryCodes);
  };
  return (
    <form onSubmit={(e) => void enrol(e)}>
      <TextField
        label="Name for this key"
        value={name}
        maxLength={64}
        onChange={(e) => setName(e.target.value)}
      />
      <ErrorNote error={action.error} />
      <button type="submit" disabled={action.busy}>
        {action.busy ? 'Touch your security key…' : 'Register security key'}
      </button>
    </form>
  );
}

function SecondFactor({ onActive }: { onActive: () => void }) {
  const [method, setMethod] = useState<'totp' | 'key' | 'recovery'>('totp');
  const [code, setCode] = useState('');
  const action = useAction();
  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    const r = await action.run(async () => {
      if (method === 'key') {
        const options = await api.post<Record<string, unknown>>('/api/auth/mfa/webauthn/options');
        return api.post<{ state: string }>('/api/auth/mfa/webauthn', {
          response: await getAssertion(options),
        });
      }
      const path = method === 'totp' ? '/api/auth/mfa/totp' : '/api/auth/mfa/recovery';
      return api.post<{ state: string; remaining?: number }>(path, { code: code.trim() });
    });
    if (r?.state === 'active') onActive();
  };
  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <div className="tabs" role="group" aria-label="Second factor to use">
        <button type="button" aria-pressed={method === 'totp'} onClick={() => setMethod('totp')}>
          Authenticator code
        </button>
        <button type="button" aria-pressed={method === 'key'} onClick={() => setMethod('key')}>
          Security key
        </button>
        <button type="button" aria-pressed={method === 'recovery'} onClick={() => setMethod('recovery')}>
          Recovery code
        </button>
      </div>
      {method === 'totp' && (
        <TextField
          label="Six-digit code"
          inputMode="numeric"
          autoComplete="one-time-code"
          maxLength={8}
          autoFocus
          value={code}
          onChange={(e) => setCode(e.target.value)}
        />
      )}
      {method === 'recovery' && (
        <TextField
          label="Recovery code"
          autoComplete="off"
          value={code}
          onChange={(e) => setCode(e.target.value)}
          hint="Each recovery code works once."
        />
      )}
      {method === 'key' && <p className="lead">Insert or touch your security key when the browser asks.</p>}
      <ErrorNote error={action.error} />
      <button type="submit" disabled={action.busy || (method !== 'key' && code.trim() === '')}>
        {action.busy ? 'Checking…' : method === 'key' ? 'Use security key' : 'Continue'}
      </button>
    </form>
  );
}

function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const [saved, setSaved] = useState(false);
  return (
    <div>
      <p className="lead">
        If you lose your authenticator or key, each of these codes signs you in once. They are shown only now:
        print them or keep them in a password manager.
      </p>
      <ul className="recovery-codes" aria-label="Recovery codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <div className="row">
        <button
          type="button"
          className="secondary"
          onClick={() => void navigator.clipboard.writeText(codes.join('\n'))}
        >
          Copy codes
        </button>
      </div>
      <CheckField
        label="I have saved my recovery codes"
        checked={saved}
        onChange={(e) => setSaved(e.target.checked)}
      />
      <button type="button" disabled={!saved} onClick={onDone}>
        Continue to Palisade
      </button>
    </div>
  );
}
