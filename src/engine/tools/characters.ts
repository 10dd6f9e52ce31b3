// Characters, not bytes, in a list of candidates for one position. A byte-level vocabulary spells a rare
// character (坡 = E5 9D A1) in several tokens, so a candidate such as `<0xE5>` is only the start of one; on its
// own it tells a learner nothing. Here each such candidate is read on by the model's own top choices until its
// bytes make whole characters: "<0xE5> → 坡, 3 tokens, the rest 92%". Consecutive tokens of one run need none
// of this (the UI groups them); this is for alternatives at one step (the guessing game, the training replay).
import type { LoadedModel } from '../load/load.ts';
import { softmax } from '../../sampling/sampler.ts';
import { readData } from '../runtime/backend.ts';

export interface CharacterReading {
  /** The whole character(s) the candidate begins, as the model goes on greedily. */
  text: string;
  /** The candidate and the tokens after it (each the model's top choice). */
  ids: number[];
  /** The probability of those following tokens, chained (the candidate's own is the step's). */
  restProb: number;
}

const strict = new TextDecoder('utf-8', { fatal: true });

/** The text of `ids` if their bytes are whole characters; null when they stop mid-character (or have no bytes). */
function wholeText(lm: LoadedModel, ids: number[]): string | null {
  const parts = ids.map((id) => lm.tokenizer.tokenBytes(id));
  if (parts.some((b) => !b)) return null;
  const bytes = Uint8Array.from(parts.flatMap((b) => [...b!]));
  try {
    return strict.decode(bytes);
  } catch {
    return null;
  }
}

/** Does this token hold only part of a character? (Special tokens and whole-character tokens do not.) */
export function isPartialToken(lm: LoadedModel, id: number): boolean {
  return !!lm.tokenizer.tokenBytes(id) && wholeText(lm, [id]) === null;
}

/**
 * For each candidate after `contextIds` that holds part of a character: the character it begins, reading on
 * with the model's top choice (at most `maxExtra` tokens; a candidate that never completes one is left out).
 * Leaves the KV cache empty (run inside a tool that restores the generation's).
 */
export async function readCharacters(lm: LoadedModel, contextIds: number[], candidateIds: number[], maxExtra = 3): Promise<Record<number, CharacterReading>> {
  const partial = [...new Set(candidateIds)].filter((id) => isPartialToken(lm, id));
  const out: Record<number, CharacterReading> = {};
  if (!partial.length || !contextIds.length || contextIds.length + 1 + maxExtra > lm.model.contextLength) return out;
  lm.model.truncate(0);
  try {
    lm.model.forward(contextIds, true).dispose();
    for (const first of partial) {
      lm.model.truncate(contextIds.length); // the context stays cached: each candidate reads on from it
      const ids = [first];
      let restProb = 1;
      let text: string | null = null;
      for (let k = 0; k < maxExtra && text === null; k++) {
        const logits = lm.model.forward([ids[ids.length - 1]], true);
        const probs = softmax(await readData(logits));
        logits.dispose();
        let best = 0;
        for (let j = 1; j < probs.length; j++) if (probs[j] > probs[best]) best = j;
        ids.push(best);
        restProb *= probs[best];
        text = wholeText(lm, ids);
      }
      if (text !== null) out[first] = { text, ids, restProb };
    }
  } finally {
    lm.model.truncate(0);
  }
  return out;
}
