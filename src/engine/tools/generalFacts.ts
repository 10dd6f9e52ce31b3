// General facts with known answers, for asking models whose training data we do not know (Hub models).
// Completion-style prompts, since GPT-2 has no chat format. Whether a model saw them is unknown.
import type { LensQuestion } from './lens.ts';
// The same capitals in Chinese where CLDR names them (tools/make_general_facts_zh.py writes this file).
import zh from './generalFacts.zh.json';

const CAPITALS: [string, string][] = [
  ['France', 'Paris'], ['Japan', 'Tokyo'], ['Italy', 'Rome'], ['Germany', 'Berlin'], ['Spain', 'Madrid'],
  ['Canada', 'Ottawa'], ['Australia', 'Canberra'], ['Egypt', 'Cairo'], ['Kenya', 'Nairobi'], ['Peru', 'Lima'],
  ['Norway', 'Oslo'], ['Vietnam', 'Hanoi'], ['Chile', 'Santiago'], ['Ghana', 'Accra'], ['Mongolia', 'Ulaanbaatar'],
  ['Bhutan', 'Thimphu'],
];
const SYMBOLS: [string, string][] = [
  ['gold', 'Au'], ['iron', 'Fe'], ['sodium', 'Na'], ['silver', 'Ag'], ['potassium', 'K'], ['tungsten', 'W'],
];

export const GENERAL_FACTS: LensQuestion[] = [
  ...CAPITALS.map(([c, a]) => ({ id: `capital-${c}`, question: `What is the capital of ${c}?`, prompt: `The capital of ${c} is`, completion: `The capital of ${c} is`, answer: a, seen: null, lang: 'en' as const, kind: 'capital' })),
  ...SYMBOLS.map(([e, a]) => ({ id: `symbol-${e}`, question: `What is the chemical symbol for ${e}?`, prompt: `The chemical symbol for ${e} is`, completion: `The chemical symbol for ${e} is`, answer: a, seen: null, lang: 'en' as const, kind: 'symbol' })),
  ...zh.facts.map((f) => ({ id: `capital-zh-${f.code}`, question: `${f.country}的首都是哪里？`, prompt: `${f.country}的首都是`, completion: `${f.country}的首都是`, answer: f.capital, seen: null, lang: 'zh' as const, kind: 'capital' })),
];
