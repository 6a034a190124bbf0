import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { errorBody } from './errors.js';

/** Content types of the files a Vite build emits. Anything else is not served. */
const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite names hashed assets `name-<hash>.ext`; they never change, so browsers may keep them for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

interface StaticFile {
  file: string;
  type: string;
  size: number;
}

/**
 * Serves the built web console (`web/dist`) on the API's own origin, so it runs under the same strict
 * CSP and session cookie. Only static files are public: the list of servable files is read once at
 * start, so a request can name nothing else (no path joins with request input, no traversal).
 * `index.html` is `no-store` (it names the current asset hashes); hashed assets are immutable.
 * The routes are hidden from the OpenAPI document: they are files, not API.
 */
export function consoleRoutes(dir: string): FastifyPluginAsync {
  return async (app) => {
    const indexFile = path.join(dir, 'index.html');
    const access = { access: { public: true as const } };
    if (!existsSync(indexFile)) {
      app.get('/', { config: access, schema: { hide: true } }, async (_request, reply) =>
        reply
          .status(503)
          .send(
            errorBody(
              'CONSOLE_NOT_BUILT',
              'the web console is not built: run `npm run build` (it builds web/ into web/dist)',
            ),
          ),
      );
      return;
    }
    const index = readFileSync(indexFile);
    app.get('/', { config: access, schema: { hide: true } }, async (_request, reply) =>
      reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(index),
    );

    const assets = listFiles(path.join(dir, 'assets'));
    app.get<{ Params: { file: string } }>(
      '/assets/:file',
      { config: access, schema: { hide: true } },
      async (request, reply) => {
        const found = assets.get(request.params.file);
        if (!found)
          return reply.status(404).send(errorBody('NOT_FOUND', `no console asset ${request.params.file}`));
        return reply
          .header('cache-control', IMMUTABLE)
          .header('content-length', found.size)
          .type(found.type)
          .send(createReadStream(found.file));
      },
    );

    // Files Vite copies from web/public (the icon): not hashed, so revalidated rather than immutable.
    for (const [name, found] of listFiles(dir)) {
      if (name === 'index.html') continue;
      app.get(`/${name}`, { config: access, schema: { hide: true } }, async (_request, reply) =>
        reply
          .header('cache-control', 'public, max-age=3600')
          .header('content-length', found.size)
          .type(found.type)
          .send(createReadStream(found.file)),
      );
    }
  };
}

function listFiles(dir: string): Map<string, StaticFile> {
  const out = new Map<string, StaticFile>();
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const type = CONTENT_TYPES[path.extname(entry.name)];
    if (type === undefined) continue;
    const file = path.join(dir, entry.name);
    out.set(entry.name, { file, type, size: statSync(file).size });
  }
  return out;
}
