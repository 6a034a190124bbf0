import { useEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import type { Camera, EvidenceRequested } from '../api/types';
import { useMe } from '../auth/me';
import { href, navigate, useRoute } from '../nav/router';
import { SelectField, TextField } from '../ui/fields';
import { ErrorNote } from '../ui/ErrorNote';
import { PageHeader, Progress, formatTime, useAction, useLoad } from '../ui/widgets';
import {
  clock,
  formatBytes,
  fromLocalInput,
  toLocalInput,
  useCameraDirectory,
  useNow,
} from '../video/cameras';
import { recordedSpans, Timeline } from '../video/Timeline';
import { useRecordedVideo } from '../video/recorded';

const WINDOWS = [
  { ms: 15 * 60_000, label: '15 minutes' },
  { ms: 3_600_000, label: '1 hour' },
  { ms: 6 * 3_600_000, label: '6 hours' },
  { ms: 24 * 3_600_000, label: '24 hours' },
];
const SPEEDS = [0.25, 0.5, 1, 2, 4, 8];

interface SegmentsAnswer {
  segments: { start: string; end: string }[];
  gaps: { start: string; end: string | null; reason: string }[];
}

/**
 * Recorded video of one camera: a timeline of what was recorded and what was not, a player that
 * seeks by click, keyboard or a typed time, playback speed, and — for investigators — an MP4
 * download of a range and an evidence export (reason, case id; dual approval when required).
 */
export function PlaybackPage() {
  const me = useMe();
  const dir = useCameraDirectory(me, 10_000);
  const { query } = useRoute();
  const cameras = (dir.cameras.data ?? []).filter((c) => dir.may('video.playback', c));
  const cameraId = query.get('camera') ?? cameras[0]?.id;
  const camera = cameras.find((c) => c.id === cameraId);
  const [windowMs, setWindowMs] = useState(3_600_000);
  /** The window's end; undefined follows the clock. */
  const [windowEnd, setWindowEnd] = useState<number | undefined>();
  const now = useNow(5000);
  const to = windowEnd ?? now;
  const from = to - windowMs;
  const [seek, setSeek] = useState<{ at: number } | undefined>();
  const [speed, setSpeed] = useState(1);
  const [jump, setJump] = useState('');
  const video = useRef<HTMLVideoElement>(null);
  const player = useRecordedVideo(video, camera?.id, seek);

  const segments = useLoad(
    () =>
      camera
        ? api.get<SegmentsAnswer>(
            `/api/cameras/${encodeURIComponent(camera.id)}/segments?from=${from}&to=${to}&limit=10000`,
          )
        : Promise.resolve(undefined),
    [camera?.id, from, to],
  );
  const spans = recordedSpans(segments.data?.segments ?? []);

  useEffect(() => {
    if (video.current) video.current.playbackRate = speed;
  }, [speed, player.phase]);

  const seekTo = (ms: number) => {
    // Keep the instant in view: a jump outside the window moves the window.
    if (ms < from || ms > to) setWindowEnd(Math.min(Date.now(), ms + windowMs / 2));
    setSeek({ at: ms });
  };

  return (
    <>
      <PageHeader title="Playback">
        Recorded video of one camera. The timeline shows what was recorded (green) and the gaps; click it, use
        the arrow keys on it, or type a time to jump there.
      </PageHeader>
      <ErrorNote error={dir.cameras.error} title="Cameras could not be loaded" />
      {dir.cameras.data && cameras.length === 0 && (
        <p className="muted">There are no cameras whose recordings you may play back.</p>
      )}
      {camera && (
        <>
          <div className="row wrap">
            <SelectField
              label="Camera"
              value={camera.id}
              onChange={(e) => {
                setSeek(undefined);
                navigate('/playback', { camera: e.target.value });
              }}
              options={cameras.map((c) => ({ value: c.id, label: `${c.name} (${dir.zoneName(c.zoneId)})` }))}
            />
            <SelectField
              label="Timeline span"
              value={String(windowMs)}
              onChange={(e) => setWindowMs(Number(e.target.value))}
              options={WINDOWS.map((w) => ({ value: String(w.ms), label: w.label }))}
            />
            <form
              className="row"
              aria-label="Jump to a time"
              onSubmit={(e) => {
                e.preventDefault();
                const ms = fromLocalInput(jump);
                if (Number.isFinite(ms)) seekTo(ms);
              }}
            >
              <TextField
                label="Jump to"
                type="datetime-local"
                step={1}
                value={jump}
                onChange={(e) => setJump(e.target.value)}
              />
              <button type="submit" disabled={jump === ''}>
                Go
              </button>
            </form>
            {windowEnd !== undefined && (
              <button type="button" className="secondary" onClick={() => setWindowEnd(undefined)}>
                Follow the clock
              </button>
            )}
          </div>
          <Timeline
            from={from}
            to={to}
            spans={spans}
            position={player.position}
            label={`Timeline of ${camera.name}, ${clock(from)} to ${clock(to)}`}
            onSeek={seekTo}
          />
          <p className="muted small" data-testid="timeline-summary">
            {segments.loading && !segments.data
              ? 'Loading the recordings…'
              : spans.length === 0
                ? 'Nothing recorded in this span.'
                : `${spans.length} recorded ${spans.length === 1 ? 'stretch' : 'stretches'}: ${spans
                    .map((s) => `${clock(s.start, false)}–${clock(s.end, false)}`)
                    .join(', ')}`}
            {(segments.data?.gaps.length ?? 0) > 0 &&
              `. Gaps the recorder noted: ${segments.data!.gaps.map((g) => `${clock(Date.parse(g.start), false)} (${g.reason})`).join(', ')}`}
          </p>
          <ErrorNote error={segments.error} title="The recordings could not be listed" />
          <div className="playback-main">
            <div className="player">
              <video ref={video} muted playsInline aria-label={`Recorded video of ${camera.name}`} />
              <div className="row wrap player-controls">
                <button
                  type="button"
                  disabled={seek === undefined}
                  onClick={() => {
                    const v = video.current;
                    if (!v) return;
                    if (v.paused) void v.play().catch(() => undefined);
                    else v.pause();
                  }}
                >
                  {player.phase === 'playing' ? 'Pause' : 'Play'}
                </button>
                <button
                  type="button"
                  className="secondary"
                  disabled={spans.length === 0}
                  onClick={() => {
                    const last = spans[spans.length - 1];
                    if (last) seekTo(Math.max(last.start, last.end - 60_000));
                  }}
                >
                  Last recorded minute
                </button>
                <SelectField
                  label="Speed"
                  value={String(speed)}
                  onChange={(e) => setSpeed(Number(e.target.value))}
                  options={SPEEDS.map((s) => ({ value: String(s), label: `${s}×` }))}
                />
                <span className="player-clock" role="status" aria-label="Position">
                  {player.position === undefined ? 'Choose a time on the timeline.' : clock(player.position)}
                  {player.phase === 'loading' && ' — loading…'}
                  {player.phase === 'ended' && ' — end of the recording'}
                </span>
              </div>
              <ErrorNote error={player.error} title="Playback failed" />
            </div>
            {dir.may('video.export', camera) && (
              <ExportPanel key={camera.id} camera={camera} position={player.position} />
            )}
          </div>
        </>
      )}
    </>
  );
}

/** An MP4 of a range, or an evidence export with reason and case id. */
function ExportPanel({ camera, position }: { camera: Camera; position: number | undefined }) {
  const [fromText, setFromText] = useState('');
  const [toText, setToText] = useState('');
  const [reason, setReason] = useState('');
  const [caseId, setCaseId] = useState('');
  const [answer, setAnswer] = useState<EvidenceRequested | undefined>();
  const [progress, setProgress] = useState<{ done: number; total?: number } | undefined>();
  const [saved, setSaved] = useState<string | undefined>();
  const exporting = useAction();
  const downloading = useAction();
  const fromMs = fromLocalInput(fromText);
  const toMs = fromLocalInput(toText);
  const valid = Number.isFinite(fromMs) && Number.isFinite(toMs) && toMs > fromMs;
  const range = valid ? `from=${new Date(fromMs).toISOString()}&to=${new Date(toMs).toISOString()}` : '';

  return (
    <section className="panel" aria-labelledby="export-title">
      <h2 id="export-title">Export</h2>
      <p className="muted">
        Choose the range; “Playhead” takes the time on screen. An MP4 is a plain video file. An evidence
        package is signed and verifiable offline (<code>palisade evidence verify</code>); it needs a reason
        and may wait for a second person’s approval.
      </p>
      <div className="row wrap">
        <RangeEnd
          label="Export from"
          playheadLabel="Playhead as start"
          value={fromText}
          set={setFromText}
          position={position}
        />
        <RangeEnd
          label="Export to"
          playheadLabel="Playhead as end"
          value={toText}
          set={setToText}
          position={position}
        />
      </div>
      {fromText !== '' && toText !== '' && !valid && (
        <p className="note note-error" role="alert">
          The end of the range must be after its start.
        </p>
      )}
      <div className="row wrap">
        <button
          type="button"
          className="secondary"
          disabled={!valid || downloading.busy}
          onClick={() => {
            setSaved(undefined);
            void downloading
              .run(() =>
                api.save(`/api/cameras/${encodeURIComponent(camera.id)}/download?${range}`, (done, total) =>
                  setProgress({ done, total }),
                ),
              )
              .then((r) => {
                setProgress(undefined);
                if (r) setSaved(`Saved ${r.fileName} (${formatBytes(r.bytes)}).`);
              });
          }}
        >
          Download MP4
        </button>
      </div>
      {progress && <Progress label="Downloading the video" done={progress.done} total={progress.total} />}
      {saved && (
        <p className="note note-ok" role="status">
          {saved}
        </p>
      )}
      <ErrorNote error={downloading.error} title="Download failed" />
      <form
        aria-label="Evidence export"
        onSubmit={(e) => {
          e.preventDefault();
          setAnswer(undefined);
          void exporting
            .run(() =>
              api.post<EvidenceRequested>(`/api/cameras/${encodeURIComponent(camera.id)}/evidence`, {
                from: new Date(fromMs).toISOString(),
                to: new Date(toMs).toISOString(),
                reason: reason.trim(),
                ...(caseId.trim() ? { caseId: caseId.trim() } : {}),
              }),
            )
            .then((r) => {
              if (r) {
                setAnswer(r);
                setReason('');
                setCaseId('');
              }
            });
        }}
      >
        <div className="row wrap">
          <TextField
            label="Reason"
            value={reason}
            required
            maxLength={1000}
            onChange={(e) => setReason(e.target.value)}
            hint="Why this video is exported; it is written into the package and the audit log."
          />
          <TextField
            label="Case id"
            value={caseId}
            maxLength={200}
            onChange={(e) => setCaseId(e.target.value)}
            hint="Optional: the incident or case number."
          />
        </div>
        <button type="submit" disabled={!valid || reason.trim() === '' || exporting.busy}>
          Export evidence
        </button>
      </form>
      <ErrorNote error={exporting.error} title="Export refused" />
      {answer &&
        (answer.approval ? (
          <div className="note note-info" role="status">
            <strong>Waiting for a second person.</strong> Evidence exports need approval by another authorised
            person; the package is built once they approve (request {answer.approval.id.slice(0, 8)}, expires{' '}
            {formatTime(answer.approval.expiresAt)}). Follow it under <a href={href('/exports')}>Exports</a>.
          </div>
        ) : (
          <div className="note note-ok" role="status">
            <strong>Export started.</strong> The package is being built; download it from{' '}
            <a href={href('/exports')}>Exports</a> when it is ready.
          </div>
        ))}
    </section>
  );
}

/** One end of an export range: a typed time, or the playhead's. */
function RangeEnd({
  label,
  playheadLabel,
  value,
  set,
  position,
}: {
  label: string;
  playheadLabel: string;
  value: string;
  set: (value: string) => void;
  position: number | undefined;
}) {
  return (
    <>
      <TextField
        label={label}
        type="datetime-local"
        step={1}
        value={value}
        onChange={(e) => set(e.target.value)}
      />
      <button
        type="button"
        className="secondary"
        disabled={position === undefined}
        onClick={() => position !== undefined && set(toLocalInput(position))}
      >
        {playheadLabel}
      </button>
    </>
  );
}
