// A chat reply ends with the assistant's turn: on the embedded model's User:/Assistant: transcript the
// engine stops where the model starts a new speaker line, and nothing from that line on is yielded.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/engine/runtime/backend.ts';
import { generate, type GenerationSummary, type StepRecord } from '../src/engine/generate/generate.ts';
import type { LoadedModel } from '../src/engine/load/load.ts';
import { loadModelDir } from '../src/node/loadDir.ts';

const DIR = join(import.meta.dirname, '..', 'models', 'nexttoken-3m');

async function run(lm: LoadedModel, promptIds: number[], opts: Parameters<typeof generate>[2]) {
  const steps: StepRecord[] = [];
  const gen = generate(lm, promptIds, opts);
  for (;;) {
    const r = await gen.next();
    if (r.done) return { steps, summary: r.value as GenerationSummary };
    steps.push(r.value);
  }
}

describe('end of a chat turn (embedded model)', () => {
  let lm: LoadedModel;
  beforeAll(async () => {
    await selectBackend({ order: ['wasm'] });
    lm = loadModelDir(DIR);
  });

  it('the plain transcript template ends a turn at a new User:/Assistant: line', () => {
    expect(lm.tokenizer.turnEnd().strings).toEqual(['\nUser:', '\nAssistant:', '\nSystem:']);
  });

  for (const [question, seed] of [
    ['What is the capital of Peru?', 3],
    ['Tell me a story.', 5],
    ['Who are you?', 1],
  ] as const) {
    it(`"${question}" (seed ${seed}): the reply stops before the invented next line, and is exactly the start of the unstopped text`, async () => {
      const promptIds = lm.tokenizer.encode(lm.tokenizer.applyChatTemplate([{ role: 'user', content: question }]));
      const opts = { temperature: 0.8, topK: 0, topP: 1, seed, maxTokens: 80 };
      const free = await run(lm, promptIds, opts);
      const turn = await run(lm, promptIds, { ...opts, turnEnd: lm.tokenizer.turnEnd() });
      const freeText = lm.tokenizer.decode(free.steps.map((s) => s.id), true);
      const reply = lm.tokenizer.decode(turn.steps.map((s) => s.id), true);
      const cutAt = Math.min(...['\nUser:', '\nAssistant:', '\nSystem:'].map((s) => freeText.indexOf(s)).filter((i) => i >= 0));
      // An independent reading of the unstopped text: where its first new speaker line begins.
      if (!Number.isFinite(cutAt)) {
        // The model ended the text itself (end-of-text token) before any new line: nothing to cut.
        expect(turn.steps.map((s) => s.id)).toEqual(free.steps.map((s) => s.id));
        expect(turn.summary.stopReason).toBe(free.summary.stopReason);
        return;
      }
      expect(turn.summary.stopReason).toBe('endOfTurn');
      expect(reply).not.toMatch(/\n(User|Assistant|System):/);
      expect(freeText.startsWith(reply)).toBe(true);
      expect(reply.length).toBeLessThanOrEqual(cutAt);
      expect(turn.summary.cutText!.startsWith(freeText.slice(cutAt, cutAt + 6))).toBe(true);
      // Same seed, same tokens: the held-back tokens were only withheld, never re-drawn.
      expect(turn.steps.map((s) => s.id)).toEqual(free.steps.slice(0, turn.steps.length).map((s) => s.id));
      expect(turn.summary.generatedIds).toEqual(turn.steps.map((s) => s.id));
    });
  }
});
