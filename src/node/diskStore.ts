// The CLI's Hub cache: a folder of plain files, `<cache>/<endpoint>/<owner>--<name>/<commit>/<file>` (see hubRevision.ts).
// Default `$NEXTTOKEN_CACHE`, else `~/.cache/nexttoken/hub`; `--cache-dir` overrides both. Node only.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
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
      if (size <= 0) return null;
      // Pulled a chunk at a time as the reader asks (backpressure), so a cached file is not read ahead into memory.
      const file = await open(p, 'r');
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          const chunk = new Uint8Array(1 << 20);
          const { bytesRead } = await file.read(chunk, 0, chunk.length, null);
          if (bytesRead === 0) {
            await file.close();
            c.close();
          } else c.enqueue(chunk.subarray(0, bytesRead));
        },
        cancel: () => file.close(),
      });
      return { body, size };
    },
    // Written beside as it arrives, renamed once all of it has: a stream that errors (or ends short) leaves nothing,
    // and a write that fails stops reading the stream (a branch of a tee left unread would buffer the rest of the file).
    putStream: async (key, body, size) => {
      const p = path(key);
      const tmp = `${p}.partial-${process.pid}-${Math.random().toString(36).slice(2)}`;
      const reader = body.getReader();
      let fd: number | null = null;
      let written = 0;
      try {
        mkdirSync(dirname(p), { recursive: true });
        fd = openSync(tmp, 'w');
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          writeSync(fd, value);
          written += value.length;
        }
        closeSync(fd);
        fd = null;
        if (written !== size) throw new Error(`${written} of ${size} bytes arrived`);
        renameSync(tmp, p);
      } catch (e) {
        if (fd !== null) closeSync(fd);
        await reader.cancel(e).catch(() => {});
        rmSync(tmp, { force: true });
        throw e;
      }
    },
  };
}
