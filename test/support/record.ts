import {
  Fmp4Fragmenter,
  RtspSession,
  type AccessUnit,
  type RtspSessionOptions,
} from '../../src/media/index.js';

export interface Recording {
  mp4: Buffer;
  accessUnits: AccessUnit[];
  session: RtspSession;
}

/** Opens a session, records `frames` access units into fMP4 (one fragment per GOP) and closes it. */
export async function record(options: RtspSessionOptions, frames: number): Promise<Recording> {
  const session = new RtspSession({ responseTimeoutMs: 5000, stallTimeoutMs: 5000, ...options });
  await session.start();
  const fragmenter = new Fmp4Fragmenter();
  const parts: Buffer[] = [];
  const accessUnits: AccessUnit[] = [];
  try {
    for await (const au of session) {
      accessUnits.push(au);
      for (const o of fragmenter.push(au)) parts.push(o.data);
      if (accessUnits.length >= frames) break;
    }
  } finally {
    await session.close();
  }
  for (const o of fragmenter.flush()) parts.push(o.data);
  return { mp4: Buffer.concat(parts), accessUnits, session };
}
