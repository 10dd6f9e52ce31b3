// The CLI's Hub cache on disk (src/node/diskStore.ts), its streaming half: a file written as it arrives enters
// the cache only whole, a failure stops reading the stream (a tee's other branch must not buffer the rest of a
// download), and a cached file is read back as a stream.
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { diskStore } from '../src/node/diskStore.ts';

const root = mkdtempSync(join(tmpdir(), 'nexttoken-disk-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function source(bytes: Uint8Array, chunk = 1000) {
  const seen = { cancelled: false };
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { body, seen };
}

const bytes = new Uint8Array(10_123).map((_, i) => i * 7);

it('putStream stores the whole file under its key; stream reads it back, chunk by chunk', async () => {
  const store = diskStore(root);
  await store.putStream!('h/o/n/c/f.bin', source(bytes).body, bytes.length);
  expect(await store.has('h/o/n/c/f.bin')).toBe(true);
  const back = await store.stream!('h/o/n/c/f.bin');
  expect(back?.size).toBe(bytes.length);
  const parts: Uint8Array[] = [];
  const reader = back!.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  expect(Buffer.concat(parts).equals(Buffer.from(bytes))).toBe(true);
  expect(await store.stream!('h/o/n/c/missing.bin')).toBeNull();
});

it('a stream shorter than announced stores nothing and leaves no partial file', async () => {
  const store = diskStore(root);
  await expect(store.putStream!('h/o/n/c/short.bin', source(bytes).body, bytes.length + 5)).rejects.toThrow(/10123 of 10128 bytes/);
  expect(await store.has('h/o/n/c/short.bin')).toBe(false);
  expect(readdirSync(join(root, 'h', 'o--n', 'c')).filter((f) => f.includes('partial'))).toEqual([]);
});

it('a write that fails cancels the stream it was reading, so nothing waits unread', async () => {
  const store = diskStore(root);
  // The model's folder is a file: the cache cannot write there.
  mkdirSync(join(root, 'x'), { recursive: true });
  writeFileSync(join(root, 'x', 'o--n'), 'not a folder');
  const s = source(bytes);
  await expect(store.putStream!('x/o/n/c/f.bin', s.body, bytes.length)).rejects.toThrow();
  expect(s.seen.cancelled).toBe(true);
});
