// A local HTTP server in the Hugging Face Hub's URL layout, for tests and offline demos:
//   GET /{owner}/{name}/resolve/{revision}/{file}     a file of a commit (a sha) or of the current main (any other name)
//   GET /api/models/{owner}/{name}/revision/{rev}     { id, sha }: the commit `main` (or a known sha) names
// serves files from folders on disk, with Range support, CORS (the app fetches it cross-origin) and
// a log of every request. Each folder is one commit, its sha derived from the id and the folder's path, so
// it is the same in every run; `moveMain` makes main point at another folder, as a push to the Hub does.
// It can be told to cut a file's download short, once, to test recovery.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

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
  /** The commit (40 hex) that `main` of this repository names now. */
  mainCommit(id: string): string;
  /** Makes `main` name a new commit whose files are those of `folder`, and returns its sha. Older commits stay reachable by sha. */
  moveMain(id: string, folder: string): string;
  close(): Promise<void>;
}

/** A repository: its commits (sha → folder) and the one main names. */
interface Repo {
  main: string;
  commits: Map<string, string>;
}

const commitSha = (id: string, folder: string) => createHash('sha1').update(`${id}\n${resolve(folder)}`).digest('hex');

/** repos: Hub id → folder. Ids listed in `gated` answer 401, as private or gated repos do. */
export async function startHubServer(folders: Record<string, string>, gated: string[] = [], port = 0): Promise<HubServer> {
  const repos = new Map<string, Repo>();
  const moveMain = (id: string, folder: string) => {
    const sha = commitSha(id, folder);
    const repo = repos.get(id) ?? { main: sha, commits: new Map<string, string>() };
    repo.commits.set(sha, folder);
    repo.main = sha;
    repos.set(id, repo);
    return sha;
  };
  for (const [id, folder] of Object.entries(folders)) moveMain(id, folder);
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
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    if (api) return revisionInfo(res, api[1], api[2]);
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!m) return void res.writeHead(404, cors).end('Not found');
    const [, id, revision, file] = m;
    if (gated.includes(id)) return void res.writeHead(401, cors).end('Access to this model is restricted');
    const forced = statuses.get(`${id}/${file}`);
    if (forced) {
      statuses.delete(`${id}/${file}`);
      return void res.writeHead(forced, cors).end(`Status ${forced}`);
    }
    const repo = repos.get(id);
    // A sha names its commit; any other revision is served from the current main, as before revisions existed here.
    const dir = repo && (/^[0-9a-f]{40}$/.test(revision) ? repo.commits.get(revision) : repo.commits.get(repo.main));
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
  // The Hub API's model info at a revision, reduced to what the loader reads: the commit it names.
  const revisionInfo = (res: ServerResponse, id: string, revision: string) => {
    const json = { ...cors, 'Content-Type': 'application/json' };
    if (gated.includes(id)) return void res.writeHead(401, json).end(JSON.stringify({ error: 'Access to this model is restricted' }));
    const repo = repos.get(id);
    if (!repo) return void res.writeHead(404, json).end(JSON.stringify({ error: 'Repository not found' }));
    const sha = revision === 'main' ? repo.main : repo.commits.has(revision) ? revision : null;
    if (!sha) return void res.writeHead(404, json).end(JSON.stringify({ error: `Invalid rev id: ${revision}` }));
    res.writeHead(200, json).end(JSON.stringify({ id, sha }));
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
    mainCommit: (id) => {
      const repo = repos.get(id);
      if (!repo) throw new Error(`hubServer: no repository ${id}`);
      return repo.main;
    },
    moveMain,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
