import { useCallback, useEffect, useEffectEvent, useRef, useState, type ReactNode } from 'react';
import type { Approval } from '../api/client';
import { href } from '../nav/router';

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1 tabIndex={-1}>{title}</h1>
      {children && <p className="lead">{children}</p>}
    </header>
  );
}

/** A determinate bar when the total is known, otherwise an indeterminate one; always with words. */
export function Progress({ label, done, total }: { label: string; done?: number; total?: number }) {
  const known = done !== undefined && total !== undefined && total > 0;
  const pct = known ? Math.min(100, Math.floor((done / total) * 100)) : undefined;
  return (
    <div className="progress" role="status">
      <progress aria-label={label} {...(known ? { value: done, max: total } : {})} />
      <span>
        {label}
        {known ? ` — ${done.toLocaleString()} of ${total.toLocaleString()} (${pct}%)` : '…'}
      </span>
    </div>
  );
}

/** A secret the server shows once (one-time password, API token): copy it now, it is never shown again. */
export function OneTimeSecret({
  label,
  value,
  onDone,
}: {
  label: string;
  value: string;
  onDone?: () => void;
}) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="note note-secret" role="status">
      <p>
        <strong>{label}</strong> — shown once. Copy it now and hand it over securely; it cannot be shown
        again.
      </p>
      <code className="secret" aria-label={label}>
        {value}
      </code>
      <div className="row">
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard.writeText(value).then(() => setCopied(true));
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        {onDone && (
          <button type="button" className="secondary" onClick={onDone}>
            Done
          </button>
        )}
      </div>
    </div>
  );
}

/** The requester's side of dual approval: what happened and where to follow it. */
export function ApprovalNotice({ approval, who }: { approval: Approval; who?: (id: string) => string }) {
  const summary = who
    ? approval.summary.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, who)
    : approval.summary;
  return (
    <div className="note note-info" role="status">
      <strong>Waiting for a second person.</strong> This change needs approval by another authorised person
      before it takes effect: “{summary}”. Request {approval.id.slice(0, 8)}, expires{' '}
      {formatTime(approval.expiresAt)}. Follow it under <a href={href('/me')}>My account</a>.
    </div>
  );
}

/** A button that asks once more before a consequential action. */
export function ConfirmButton({
  label,
  confirmLabel,
  onConfirm,
  danger,
  disabled,
}: {
  label: string;
  confirmLabel: string;
  onConfirm: () => Promise<void> | void;
  danger?: boolean;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) confirmRef.current?.focus();
  }, [asking]);
  if (!asking)
    return (
      <button
        type="button"
        className={danger ? 'danger' : 'secondary'}
        disabled={disabled}
        onClick={() => setAsking(true)}
      >
        {label}
      </button>
    );
  return (
    <span className="confirm" role="group" aria-label={confirmLabel}>
      <button
        ref={confirmRef}
        type="button"
        className={danger ? 'danger' : ''}
        disabled={busy}
        onClick={() => {
          setBusy(true);
          void Promise.resolve(onConfirm()).finally(() => {
            setBusy(false);
            setAsking(false);
          });
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" className="secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads data for a page. It loads again when a value in `deps` changes, and on `reload()` after a
 * change; an answer that arrives after a newer request started is dropped.
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[] = []): Loaded<T> {
  const [tick, setTick] = useState(0);
  const key = JSON.stringify([...deps, tick]);
  const [state, setState] = useState<{ key: string; data?: T; error?: unknown }>({ key: '' });
  const run = useEffectEvent(load);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    run().then(
      (data) => {
        if (live) setState({ key, data });
      },
      (error: unknown) => {
        if (live) setState((cur) => ({ key, data: cur.data, error }));
      },
    );
    return () => {
      live = false;
    };
  }, [key]);
  return {
    data: state.data,
    error: state.error,
    loading: state.key !== key,
    reload,
  };
}

/** Runs an action with busy state and error capture, for forms and buttons. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = useCallback(async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(undefined);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, setError };
}
