import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { Camera } from '../api/types';
import { useMe } from '../auth/me';
import { navigate, useRoute } from '../nav/router';
import { ErrorNote } from '../ui/ErrorNote';
import { PageHeader } from '../ui/widgets';
import { STATE_WORDS, formatBitrate, hasLiveSession, stateBadge, useCameraDirectory } from '../video/cameras';
import { useLiveVideo } from '../video/live';

/** Grid sizes an operator picks from: columns per row. */
const LAYOUTS = [
  { columns: 1, label: '1 camera' },
  { columns: 2, label: '4 cameras (2 × 2)' },
  { columns: 3, label: '9 cameras (3 × 3)' },
  { columns: 4, label: '16 cameras (4 × 4)' },
] as const;

/**
 * Live view: a grid of 1, 4, 9 or 16 cameras, each tile with its recording state and health. A tile
 * enlarges on click or Enter; arrow keys move between tiles, Escape returns to the grid. The grid
 * size and the enlarged camera are in the address, so a control-room wall can be bookmarked.
 */
export function LivePage() {
  const me = useMe();
  const dir = useCameraDirectory(me);
  const { query } = useRoute();
  const columns = Number(query.get('grid') ?? '2');
  const cols = LAYOUTS.some((l) => l.columns === columns) ? columns : 2;
  const enlarged = query.get('camera') ?? undefined;
  const page = Math.max(0, Number(query.get('page') ?? '0') || 0);
  const liveCameras = (dir.cameras.data ?? []).filter((c) => dir.may('video.live', c));
  const perPage = cols * cols;
  const pages = Math.max(1, Math.ceil(liveCameras.length / perPage));
  const shown = enlarged
    ? liveCameras.filter((c) => c.id === enlarged)
    : liveCameras.slice(page * perPage, page * perPage + perPage);
  const tiles = useRef<(HTMLButtonElement | null)[]>([]);
  const [focusIndex, setFocusIndex] = useState(0);

  const go = (over: { grid?: number; camera?: string; page?: number }) =>
    navigate('/live', {
      grid: String(over.grid ?? cols),
      camera: over.camera,
      page: over.page ? String(over.page) : undefined,
    });

  useEffect(() => {
    // After enlarging or returning, keep the keyboard on the tile the person was on.
    tiles.current[enlarged ? 0 : focusIndex]?.focus({ preventScroll: true });
    // Only on a change of view, not on every health refresh.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [enlarged, cols, page]);

  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === 'Escape' && enlarged) {
      e.preventDefault();
      go({ page });
      return;
    }
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols }[e.key];
    if (step === undefined || enlarged) return;
    e.preventDefault();
    const next = Math.min(shown.length - 1, Math.max(0, focusIndex + step));
    setFocusIndex(next);
    tiles.current[next]?.focus();
  };

  return (
    <>
      <PageHeader title="Live">
        Live video of the cameras you may watch, with each camera’s recording state. Click a tile or press
        Enter to enlarge it; arrow keys move between tiles, Escape returns to the grid.
      </PageHeader>
      <div className="row wrap" role="toolbar" aria-label="Grid layout">
        {LAYOUTS.map((l) => (
          <button
            key={l.columns}
            type="button"
            aria-pressed={!enlarged && cols === l.columns}
            onClick={() => go({ grid: l.columns })}
          >
            {l.label}
          </button>
        ))}
        {!enlarged && pages > 1 && (
          <span className="pager">
            <button
              type="button"
              className="secondary"
              disabled={page === 0}
              onClick={() => go({ page: page - 1 })}
            >
              Previous cameras
            </button>
            <span className="muted">
              page {page + 1} of {pages}
            </span>
            <button
              type="button"
              className="secondary"
              disabled={page >= pages - 1}
              onClick={() => go({ page: page + 1 })}
            >
              Next cameras
            </button>
          </span>
        )}
        {enlarged && (
          <button type="button" className="secondary" onClick={() => go({ page })}>
            Back to the grid
          </button>
        )}
      </div>
      <ErrorNote error={dir.cameras.error} title="Cameras could not be loaded" />
      {dir.cameras.loading && !dir.cameras.data && <p className="muted">Loading cameras…</p>}
      {dir.cameras.data && liveCameras.length === 0 && (
        <p className="muted">There are no cameras you may watch live.</p>
      )}
      <div
        className={`live-grid cols-${enlarged ? 1 : cols}`}
        role="group"
        aria-label={enlarged ? 'Enlarged camera' : `Camera grid, ${cols} by ${cols}`}
        onKeyDown={onKey}
      >
        {shown.map((c, i) => (
          <LiveTile
            key={c.id}
            camera={c}
            zone={dir.zoneName(c.zoneId)}
            enlarged={enlarged === c.id}
            tabbable={i === (enlarged ? 0 : focusIndex)}
            buttonRef={(b) => {
              tiles.current[i] = b;
            }}
            onFocus={() => setFocusIndex(i)}
            onOpen={() => (enlarged ? go({ page }) : go({ camera: c.id, page }))}
          />
        ))}
      </div>
      {enlarged && shown.length === 0 && dir.cameras.data && (
        <p className="muted">That camera is not among the cameras you may watch.</p>
      )}
    </>
  );
}

function LiveTile({
  camera,
  zone,
  enlarged,
  tabbable,
  buttonRef,
  onFocus,
  onOpen,
}: {
  camera: Camera;
  zone: string;
  enlarged: boolean;
  tabbable: boolean;
  buttonRef: (b: HTMLButtonElement | null) => void;
  onFocus: () => void;
  onOpen: () => void;
}) {
  const video = useRef<HTMLVideoElement>(null);
  const h = camera.health;
  const live = hasLiveSession(h.state);
  const status = useLiveVideo(video, camera.id, live);
  return (
    <figure className={`tile${enlarged ? ' tile-big' : ''}`} data-camera={camera.id}>
      <button
        ref={buttonRef}
        type="button"
        className="tile-view"
        tabIndex={tabbable ? 0 : -1}
        aria-label={`${enlarged ? 'Back to the grid from' : 'Enlarge'} ${camera.name}`}
        onFocus={onFocus}
        onClick={onOpen}
      >
        <video ref={video} muted playsInline aria-label={`Live video of ${camera.name}`} />
        {!live && <span className="tile-message">No live view: the camera is {STATE_WORDS[h.state]}.</span>}
        {live && status.kind === 'connecting' && <span className="tile-message">Connecting…</span>}
        {live && status.kind === 'failed' && <span className="tile-message">{status.message}</span>}
      </button>
      <figcaption>
        <strong>{camera.name}</strong> <span className="muted small">{zone}</span>{' '}
        <span className={`badge ${stateBadge(h.state)}`}>{STATE_WORDS[h.state]}</span>
        <span className="tile-health muted small">
          {h.video ? `${h.video.width}×${h.video.height} ` : ''}
          {h.fps > 0 ? `${h.fps.toFixed(0)} fps ` : ''}
          {formatBitrate(h.bitrate)}
          {h.lastError && h.state !== 'recording' ? ` — ${h.lastError.message}` : ''}
        </span>
      </figcaption>
    </figure>
  );
}
