// The bad-input table (docs/bad-input.md), read back by the tests that produce each message: a row whose message
// differs from what the code says (or a row with no test, or a test with no row) fails the suite.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export interface BadInputRow {
  id: string;
  surface: string;
  input: string;
  message: string;
}

const TABLE = join(import.meta.dirname, '..', '..', 'docs', 'bad-input.md');

/** Rows of the table in docs/bad-input.md, by id ("B01"). */
export function badInputRows(): Map<string, BadInputRow> {
  const rows = new Map<string, BadInputRow>();
  for (const line of readFileSync(TABLE, 'utf8').split('\n')) {
    const m = /^\| (B\d+) \| ([^|]+) \| (.+?) \| (.+) \|$/.exec(line);
    if (!m) continue;
    rows.set(m[1], { id: m[1], surface: m[2].trim(), input: m[3].trim(), message: m[4].trim().replace(/\\\|/g, '|') });
  }
  return rows;
}

/** Paths, ports and other details of one machine, replaced so the table reads the same everywhere. */
export function normalise(message: string, subs: Record<string, string> = {}): string {
  let out = message.trim();
  for (const [from, to] of Object.entries(subs)) out = out.split(from).join(to);
  return out.replace(/http:\/\/127\.0\.0\.1:\d+/g, '{hub}').replace(/\s+/g, ' ');
}

/**
 * The message a bad input produced must be the table row's, word for word. With
 * BAD_INPUT_TABLE_OUT set, rows are written to that file instead (to update docs/bad-input.md).
 */
export function expectRow(rows: Map<string, BadInputRow>, id: string, surface: string, input: string, message: string): void {
  const out = process.env.BAD_INPUT_TABLE_OUT;
  if (out) {
    appendFileSync(out, `| ${id} | ${surface} | ${input} | ${message.replace(/\|/g, '\\|')} |\n`);
    return;
  }
  const row = rows.get(id);
  expect(row, `docs/bad-input.md has no row ${id}`).toBeDefined();
  expect(row!.message).toBe(message);
}
