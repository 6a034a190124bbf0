import type { KeyboardEvent, MouseEvent } from 'react';
import { clock } from './cameras';

export interface Span {
  start: number;
  end: number;
}

/** Segments closer than this are one recorded span: the recorder cuts segments back to back. */
const JOIN_MS = 2000;

/** Recorded segments (any order) merged into spans, oldest first. */
export function recordedSpans(segments: { start: string; end: string }[]): Span[] {
  const sorted = segments
    .map((s) => ({ start: Date.parse(s.start), end: Date.parse(s.end) }))
    .sort((a, b) => a.start - b.start);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start - last.end <= JOIN_MS) last.end = Math.max(last.end, s.end);
    else out.push({ ...s });
  }
  return out;
}

/** The stretches of [from, to) that are not covered by `spans`: what the timeline shows as gaps. */
export function holes(spans: Span[], from: number, to: number): Span[] {
  const out: Span[] = [];
  let at = from;
  for (const s of spans) {
    if (s.start > at) out.push({ start: at, end: Math.min(s.start, to) });
    at = Math.max(at, s.end);
  }
  if (at < to) out.push({ start: at, end: to });
  return out.filter((h) => h.end - h.start > JOIN_MS);
}

const WIDTH = 1000;
const HEIGHT = 56;
const TRACK_Y = 8;
const TRACK_H = 28;

/**
 * One camera's recorded time over a window: recorded spans, gaps, the playhead and an hour/minute
 * scale. A slider for assistive technology and the keyboard (arrows ±10 s, Page Up/Down ±1 min,
 * Home/End); a click seeks to that instant.
 */
export function Timeline({
  from,
  to,
  spans,
  position,
  label,
  onSeek,
}: {
  from: number;
  to: number;
  spans: Span[];
  position: number | undefined;
  label: string;
  onSeek: (ms: number) => void;
}) {
  const span = to - from;
  const x = (ms: number) => ((Math.min(to, Math.max(from, ms)) - from) / span) * WIDTH;
  const gaps = holes(spans, from, to);
  const ticks = tickMarks(from, to);
  const here = position ?? to;

  const onClick = (e: MouseEvent<SVGSVGElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    onSeek(from + ((e.clientX - box.left) / box.width) * span);
  };
  const onKey = (e: KeyboardEvent<SVGSVGElement>) => {
    const step = {
      ArrowRight: 10_000,
      ArrowLeft: -10_000,
      ArrowUp: 10_000,
      ArrowDown: -10_000,
      PageUp: 60_000,
      PageDown: -60_000,
    }[e.key];
    if (step !== undefined) {
      e.preventDefault();
      onSeek(Math.min(to, Math.max(from, here + step)));
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      onSeek(e.key === 'Home' ? (spans[0]?.start ?? from) : to - 10_000);
    }
  };

  return (
    <svg
      className="timeline"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      preserveAspectRatio="none"
      role="slider"
      tabIndex={0}
      aria-label={label}
      aria-valuemin={from}
      aria-valuemax={to}
      aria-valuenow={Math.round(here)}
      aria-valuetext={position === undefined ? 'not playing' : clock(position)}
      onClick={onClick}
      onKeyDown={onKey}
    >
      <rect className="timeline-track" x={0} y={TRACK_Y} width={WIDTH} height={TRACK_H} />
      {spans.map((s) => (
        <rect
          key={`r${s.start}`}
          className="timeline-recorded"
          x={x(s.start)}
          y={TRACK_Y}
          width={Math.max(1, x(s.end) - x(s.start))}
          height={TRACK_H}
        >
          <title>{`recorded ${clock(s.start)} – ${clock(s.end, false)}`}</title>
        </rect>
      ))}
      {gaps.map((g) => (
        <rect
          key={`g${g.start}`}
          className="timeline-gap"
          x={x(g.start)}
          y={TRACK_Y + TRACK_H - 4}
          width={Math.max(1, x(g.end) - x(g.start))}
          height={4}
        >
          <title>{`not recorded ${clock(g.start)} – ${clock(g.end, false)}`}</title>
        </rect>
      ))}
      {ticks.map((t) => (
        <g key={t.ms}>
          <line
            className="timeline-tick"
            x1={x(t.ms)}
            x2={x(t.ms)}
            y1={TRACK_Y + TRACK_H}
            y2={TRACK_Y + TRACK_H + 4}
          />
          <text className="timeline-label" x={x(t.ms)} y={HEIGHT - 2}>
            {t.text}
          </text>
        </g>
      ))}
      {position !== undefined && position >= from && position <= to && (
        <line
          className="timeline-playhead"
          x1={x(position)}
          x2={x(position)}
          y1={2}
          y2={TRACK_Y + TRACK_H + 4}
        />
      )}
    </svg>
  );
}

/** About six labelled ticks on round minutes or hours. */
function tickMarks(from: number, to: number): { ms: number; text: string }[] {
  const steps = [60_000, 5 * 60_000, 10 * 60_000, 15 * 60_000, 30 * 60_000, 3_600_000, 3 * 3_600_000];
  const step = steps.find((s) => (to - from) / s <= 7) ?? 6 * 3_600_000;
  const out: { ms: number; text: string }[] = [];
  // Labels too close to an edge would be cut off by the drawing's border.
  const margin = (to - from) * 0.03;
  for (let t = Math.ceil((from + margin) / step) * step; t < to - margin; t += step) {
    const d = new Date(t);
    out.push({
      ms: t,
      text: `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`,
    });
  }
  return out;
}
