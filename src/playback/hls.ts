import { initLength, type PlaybackTimeline } from './timeline.js';

/**
 * HLS (RFC 8216, version 7) VOD media playlist for a timeline: fMP4 media segments addressed as byte
 * ranges of each recorded segment's URL (`#EXT-X-MAP` for its init section, one `#EXTINF` per GOP),
 * `#EXT-X-DISCONTINUITY` between runs (a gap, a new recording session, a parameter change) and
 * `#EXT-X-PROGRAM-DATE-TIME` at the start of every recorded segment, so a player shows wall-clock time.
 */
export function vodPlaylist(
  timeline: PlaybackTimeline,
  mediaUrl: (segmentId: string) => string,
  options: { startOffsetSeconds?: number } = {},
): string {
  const gops = timeline.runs.flatMap((r) => r.gops);
  const target = Math.max(1, ...gops.map((g) => Math.ceil(g.duration / 90_000)));
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${target}`,
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  if (options.startOffsetSeconds !== undefined && options.startOffsetSeconds > 0) {
    lines.push(`#EXT-X-START:TIME-OFFSET=${options.startOffsetSeconds.toFixed(3)},PRECISE=YES`);
  }
  timeline.runs.forEach((run, r) => {
    if (r > 0) lines.push('#EXT-X-DISCONTINUITY');
    let current: string | undefined;
    for (const g of run.gops) {
      const s = g.segment;
      const url = mediaUrl(s.id);
      if (s.id !== current) {
        current = s.id;
        lines.push(`#EXT-X-MAP:URI="${url}",BYTERANGE="${initLength(s)}@0"`);
        lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(g.wallMs).toISOString()}`);
      }
      lines.push(`#EXTINF:${(g.duration / 90_000).toFixed(5)},`);
      lines.push(`#EXT-X-BYTERANGE:${g.length}@${g.offset}`);
      lines.push(url);
    }
  });
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}
