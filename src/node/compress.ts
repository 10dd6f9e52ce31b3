// What general-purpose compressors make of a text, in bits per byte: the baseline a language model must beat
// (prediction is compression). Node only: xz is a program, gzip is zlib.
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';

/** Bits per byte of `text` through `xz -9`, or null where xz is not installed (the figure is left out, not made up). */
export function xzBitsPerByte(text: string): number | null {
  const bytes = Buffer.from(text, 'utf8');
  try {
    return (execFileSync('xz', ['-9', '-c'], { input: bytes, maxBuffer: 1 << 26 }).length * 8) / bytes.length;
  } catch {
    return null;
  }
}

/** Bits per byte of `text` through gzip -9. */
export function gzipBitsPerByte(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  return (gzipSync(bytes, { level: 9 }).length * 8) / bytes.length;
}
