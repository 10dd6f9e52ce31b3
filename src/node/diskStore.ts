// The CLI's Hub cache: a folder of plain files, `<cache>/<endpoint>/<owner>--<name>/<commit>/<file>` (see hubRevision.ts).
// Default `$NEXTTOKEN_CACHE`, else `~/.cache/nexttoken/hub`; `--cache-dir` overrides both. Node only.
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { Readable } from 'node:stream';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FileStore } from '../engine/load/hub.ts';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.NEXTTOKEN_CACHE || join(homedir(), '.cache', 'nexttoken', 'hub');
}

export function diskStore(root: string): FileStore {
  // "endpoint/owner/name/revision/file" → "endpoint/owner--name/revision/file": one folder per model, as the Hub's own cache does.
  const path = (key: string) => {
    const [endpoint, owner, name, ...rest] = key.split('/');
    return join(root, endpoint, `${owner}--${name}`, ...rest);
  };
  return {
    has: async (key) => existsSync(path(key)),
    delete: async (key) => {
      rmSync(path(key), { force: true });
      // A commit's folder emptied by the removal of an old commit's files goes too (rmdir refuses one that is not empty).
      try {
        rmdirSync(dirname(path(key)));
      } catch {
        // not empty, or already gone
      }
    },
    get: async (key) => (existsSync(path(key)) ? new Uint8Array(readFileSync(path(key))) : null),
    put: async (key, bytes) => {
      const p = path(key);
      mkdirSync(dirname(p), { recursive: true });
      // Written beside, then renamed: a crash mid-write never leaves a short file under the real name.
      const tmp = `${p}.partial-${process.pid}`;
      writeFileSync(tmp, bytes);
      renameSync(tmp, p);
    },
    stream: async (key) => {
      const p = path(key);
      if (!existsSync(p)) return null;
      const size = statSync(p).size;
      return size > 0 ? { body: Readable.toWeb(createReadStream(p)) as ReadableStream<Uint8Array>, size } : null;
    },
    // Written beside as it arrives, renamed once all of it has: a stream that errors (or ends short) leaves nothing.
    putStream: async (key, body, size) => {
      const p = path(key);
      mkdirSync(dirname(p), { recursive: true });
      const tmp = `${p}.partial-${process.pid}`;
      const fd = openSync(tmp, 'w');
      let written = 0;
      try {
        const reader = body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          writeSync(fd, value);
          written += value.length;
        }
        closeSync(fd);
        if (written !== size) throw new Error(`${written} of ${size} bytes arrived`);
        renameSync(tmp, p);
      } catch (e) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
        rmSync(tmp, { force: true });
        throw e;
      }
    },
  };
}
