// A local HTTP server in the Hugging Face Hub's URL layout, for tests and offline demos:
//   GET /{owner}/{name}/resolve/{revision}/{file}
// serves files from folders on disk, with Range support, CORS (the app fetches it cross-origin) and
// a log of every request. It can be told to cut a file's download short, once, to test recovery.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface HubServer {
  url: string;
  /** Every request, as "METHOD path [range]". */
  requests: string[];
  /** The next full GET of this path ("owner/name/file") sends half the bytes and then drops the connection. */
  dropOnce(path: string): void;
  /** The next full GET of this path sends half the bytes and then nothing more, keeping the connection open. */
  stallOnce(path: string): void;
  /** The next request for this path ("owner/name/file") answers with this HTTP status (e.g. 503). */
  statusOnce(path: string, status: number): void;
  close(): Promise<void>;
}

/** repos: Hub id → folder. Ids listed in `gated` answer 401, as private or gated repos do. */
export async function startHubServer(repos: Record<string, string>, gated: string[] = [], port = 0): Promise<HubServer> {
  const requests: string[] = [];
  const drops = new Set<string>();
  const stalls = new Set<string>();
  const statuses = new Map<string, number>();
  const cors = {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': 'Range',
    'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Accept-Ranges',
    // The app runs cross-origin isolated (COEP require-corp): a cross-origin response must opt in.
    'Cross-Origin-Resource-Policy': 'cross-origin',
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    requests.push(`${req.method} ${path}${req.headers.range ? ' ' + req.headers.range : ''}`);
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!m) return void res.writeHead(404, cors).end('Not found');
    const [, id, , file] = m;
    if (gated.includes(id)) return void res.writeHead(401, cors).end('Access to this model is restricted');
    const forced = statuses.get(`${id}/${file}`);
    if (forced) {
      statuses.delete(`${id}/${file}`);
      return void res.writeHead(forced, cors).end(`Status ${forced}`);
    }
    const dir = repos[id];
    const full = dir && join(dir, file);
    if (!full || file.includes('..') || !existsSync(full) || !statSync(full).isFile()) {
      return void res.writeHead(404, { ...cors, 'X-Error-Code': 'EntryNotFound' }).end('Entry not found');
    }
    // Streamed from disk: a header peek of a 548 MB file reads a few bytes, not the file.
    const size = statSync(full).size;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(range[2] ? Number(range[2]) : size - 1, size - 1);
      res.writeHead(206, { ...cors, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}`, 'Accept-Ranges': 'bytes' });
      return void createReadStream(full, { start, end }).pipe(res);
    }
    res.writeHead(200, { ...cors, 'Content-Length': size, 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' });
    const key = `${id}/${file}`;
    if (drops.has(key)) {
      drops.delete(key);
      const half = createReadStream(full, { start: 0, end: (size >> 1) - 1 });
      half.on('end', () => setTimeout(() => res.destroy(), 20));
      return void half.pipe(res, { end: false });
    }
    if (stalls.has(key)) {
      stalls.delete(key);
      return void createReadStream(full, { start: 0, end: (size >> 1) - 1 }).pipe(res, { end: false }); // and then silence
    }
    createReadStream(full).pipe(res);
  };
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    requests,
    dropOnce: (p) => void drops.add(p),
    stallOnce: (p) => void stalls.add(p),
    statusOnce: (p, status) => void statuses.set(p, status),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
