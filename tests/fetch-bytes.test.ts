// fetchBytes (src/engine/load/fetchModel.ts), the download under every model loaded by address (the app's own
// models, GGUF links), against a real HTTP server: the bytes as sent with and without a Content-Length (one
// buffer sized up front, or grown past its first megabyte), progress as they arrive, and a download cut short refused.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fetchBytes, type LoadProgress } from '../src/engine/load/fetchModel.ts';

const body = new Uint8Array(3_000_017).map((_, i) => (i * 2654435761) >>> 24);
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks = [body.subarray(0, 700_000), body.subarray(700_000, 2_100_000), body.subarray(2_100_000)];
    if (req.url === '/sized') res.writeHead(200, { 'Content-Length': body.length });
    else if (req.url === '/cut') {
      res.writeHead(200, { 'Content-Length': body.length });
      res.write(chunks[0]);
      setTimeout(() => res.destroy(), 20); // the connection drops part-way
      return;
    } else res.writeHead(200); // chunked: no length announced
    for (const c of chunks) res.write(c);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

it('returns the bytes as sent, with the length announced and without it, reporting progress up to the whole', async () => {
  for (const path of ['/sized', '/chunked']) {
    const seen: LoadProgress[] = [];
    const got = await fetchBytes(base + path, (p) => seen.push(p));
    expect(got.length).toBe(body.length);
    expect(Buffer.from(got).equals(Buffer.from(body))).toBe(true);
    expect(seen.at(-1)).toEqual({ file: path.slice(1), loaded: body.length, total: path === '/sized' ? body.length : null });
    expect(seen.every((p, i) => i === 0 || p.loaded > seen[i - 1].loaded)).toBe(true);
  }
});

it('refuses a download that stops before the announced length, saying how far it got', async () => {
  await expect(fetchBytes(base + '/cut')).rejects.toThrow(/broke off after|ended after/);
});
