// One process recording N RTSP streams with Palisade's media stack (RTP -> access units -> fMP4
// fragments in memory, discarded as the recorder would hand them to encryption). Prints JSON.
import { Fmp4Fragmenter, RtspSession } from '../../src/media/index.js';

const [urlList = '', user = '', password = '', secondsArg = '20'] = process.argv.slice(2);
const urls = urlList.split(',');
const seconds = Number(secondsArg);

const baselineRss = process.memoryUsage().rss;
let accessUnits = 0;
let fragmentBytes = 0;
const sessions = urls.map((url) => new RtspSession({ url, username: user, password }));
await Promise.all(sessions.map((s) => s.start()));
const cpuStart = process.cpuUsage();
const started = Date.now();
const loops = sessions.map(async (s) => {
  const fragmenter = new Fmp4Fragmenter();
  for await (const au of s) {
    accessUnits++;
    for (const o of fragmenter.push(au)) fragmentBytes += o.data.length;
  }
});
await new Promise((r) => setTimeout(r, seconds * 1000));
const cpu = process.cpuUsage(cpuStart);
const rss = process.memoryUsage().rss;
const elapsed = (Date.now() - started) / 1000;
await Promise.all(sessions.map((s) => s.close()));
await Promise.allSettled(loops);
process.stdout.write(
  `${JSON.stringify({ streams: urls.length, elapsed, cpuSeconds: (cpu.user + cpu.system) / 1e6, rss, baselineRss, accessUnits, fragmentBytes })}\n`,
);
process.exit(0);
