import { packetizeH264, packetizeH265 } from '../media/index.js';
import type { Clip, ClipFrame } from './clip.js';
import type { StreamSender } from './stream.js';

export interface FrameContext {
  sender: StreamSender;
  frame: ClipFrame;
  /** RTP timestamp this frame is sent with. */
  timestamp: number;
  /** Milliseconds since this session started playing. */
  playingMs: number;
}

/** What to do with a frame: send it, skip it, cut the connection, or send other payloads instead. */
export type FrameAction = 'send' | 'skip' | 'disconnect' | { payloads: Buffer[]; thenDisconnect?: boolean };

/**
 * A way a camera misbehaves, plugged into a simulated camera. Each hook is optional; behaviours run
 * in order for every frame of every session of that camera.
 */
export interface CameraBehaviour {
  readonly name: string;
  /** Rewrites the SDP the camera answers DESCRIBE with. */
  describe?(sdp: string): string;
  beforeFrame?(ctx: FrameContext): FrameAction | undefined;
}

/** Closes the connection after `ms` of playing (a camera that reboots or a flaky link). */
export function disconnectEvery(ms: number): CameraBehaviour {
  return {
    name: `disconnect-every-${ms}ms`,
    beforeFrame: (c) => (c.playingMs >= ms ? 'disconnect' : 'send'),
  };
}

/** Stops sending media after `ms` but keeps answering RTSP (a hung encoder). */
export function stallAfter(ms: number): CameraBehaviour {
  return { name: `stall-after-${ms}ms`, beforeFrame: (c) => (c.playingMs >= ms ? 'skip' : 'send') };
}

/** After `ms`, sends the first half of a frame's packets and closes the connection. */
export function dropMidFrame(ms: number): CameraBehaviour {
  return {
    name: `drop-mid-frame-after-${ms}ms`,
    beforeFrame: (c) => {
      if (c.playingMs < ms || c.frame.payloads.length < 2) return 'send';
      return {
        payloads: c.frame.payloads.slice(0, Math.ceil(c.frame.payloads.length / 2)),
        thenDisconnect: true,
      };
    },
  };
}

/**
 * After `ms`, adds `packetsPerFrame` packets of random bytes (valid RTP headers, nonsense payloads)
 * to every frame: a flood of garbage the client must survive with bounded memory.
 */
export function floodRtp(ms: number, packetsPerFrame = 200): CameraBehaviour {
  const junk = Array.from({ length: 64 }, () => {
    const b = Buffer.allocUnsafe(1400);
    for (let i = 0; i < b.length; i++) b[i] = (Math.random() * 256) | 0;
    return b;
  });
  return {
    name: `flood-rtp-after-${ms}ms`,
    beforeFrame: (c) => {
      if (c.playingMs >= ms) {
        const burst = Array.from({ length: packetsPerFrame }, (_, i) => junk[i % junk.length]!);
        c.sender.sendPayloads(burst, c.timestamp, false);
      }
      return 'send';
    },
  };
}

/** After `ms`, sends one NAL unit of `bytes` (fragmented as the codec requires): beyond any sane limit. */
export function oversizedNal(ms: number, bytes: number): CameraBehaviour {
  let sent = false;
  return {
    name: `oversized-nal-${bytes}B-after-${ms}ms`,
    beforeFrame: (c) => {
      if (sent || c.playingMs < ms) return 'send';
      sent = true;
      const h265 = c.sender.currentClip.video.codec === 'h265';
      const nal = Buffer.alloc(bytes, 0x5a);
      if (h265) {
        nal[0] = 1 << 1; // TRAIL_R
        nal[1] = 1;
      } else nal[0] = 0x41; // non-IDR slice
      const payloads = (h265 ? packetizeH265 : packetizeH264)([nal], 1400);
      return { payloads };
    },
  };
}

/** Alternates between clips of different resolutions every `ms`, at key frames (parameter sets change in-band). */
export function changeResolution(ms: number, clips: readonly Clip[]): CameraBehaviour {
  let next = ms;
  let which = 0;
  return {
    name: `change-resolution-every-${ms}ms`,
    beforeFrame: (c) => {
      if (c.playingMs < next || !c.frame.key || clips.length === 0) return 'send';
      next += ms;
      which = (which + 1) % clips.length;
      c.sender.switchClip(clips[which]!);
      return 'skip';
    },
  };
}

/** Rewrites the SDP: announces another clip's parameter sets (wrong resolution), or the wrong codec. */
export function lieInSdp(lie: { parameterSetsOf: Clip } | { codec: 'H264' | 'H265' }): CameraBehaviour {
  return {
    name: 'lie-in-sdp',
    describe: (sdp) => {
      if ('codec' in lie) return sdp.replace(/ (H264|H265)\/90000/, ` ${lie.codec}/90000`);
      const ps = lie.parameterSetsOf.video.parameterSets;
      const b64 = (l: Buffer[]) => l.map((b) => b.toString('base64')).join(',');
      return sdp
        .replace(/sprop-parameter-sets=[^;\r\n]*/, `sprop-parameter-sets=${b64([...ps.sps, ...ps.pps])}`)
        .replace(/sprop-sps=[^;\r\n]*/, `sprop-sps=${b64(ps.sps)}`)
        .replace(
          /a=x-dimensions:[^\r\n]*/,
          `a=x-dimensions:${lie.parameterSetsOf.video.width},${lie.parameterSetsOf.video.height}`,
        );
    },
  };
}
