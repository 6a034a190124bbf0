import { asApiError } from '../api/errors';

/** A failure in plain words, with the stable code small for support. Announced to screen readers. */
export function ErrorNote({ error, title }: { error: unknown; title?: string }) {
  if (error === undefined || error === null) return null;
  const e = asApiError(error);
  return (
    <div className="note note-error" role="alert">
      {title && <strong>{title}: </strong>}
      {e.plain}
      <small className="code" title="error code, for support">
        {e.code}
      </small>
    </div>
  );
}
