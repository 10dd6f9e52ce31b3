// What quantization does to a model's next-token distributions over a text, as JSON:
//   npx tsx tools/precision-report.ts [--model <dir or .gguf>] [--text "…"]
// The text is read once at float32, Q8_0 and Q4_0 (one forward pass each, every position's distribution);
// per precision: mean and largest KL(float32 ‖ it) in nats, the share of positions whose most likely token
// is float32's, and the largest change of any token's probability.
import { parseArgs, runMain } from '../src/cli/args.ts';
import { loadModel } from '../src/cli/common.ts';
import { readData, selectBackend } from '../src/engine/runtime/backend.ts';
import { probsOf } from '../src/engine/tools/finetune.ts';
import { klNats } from '../src/engine/tools/precision.ts';
import type { WeightDType } from '../src/engine/runtime/quant.ts';

const TEXT =
  'The capital of France is Paris. The capital of Japan is Tokyo. In the beginning God created the heaven and the earth. ' +
  'Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, I thought I would sail about a little and see the watery part of the world. ' +
  '法国的首都是巴黎。日本的首都是东京。床前明月光，疑是地上霜。';

runMain(async () => {
  const a = parseArgs(process.argv.slice(2), { model: 'string', text: 'string' });
  await selectBackend({ order: ['wasm'] });
  const text = (a.text as string | undefined) ?? TEXT;
  const rows: Record<string, Float32Array[]> = {};
  let name = '';
  let positions = 0;
  for (const dtype of ['f32', 'q8_0', 'q4_0'] as WeightDType[]) {
    const lm = await loadModel({ model: a.model as string | undefined, dtype });
    name = lm.name;
    const ids = lm.tokenizer.encode(text).slice(0, lm.model.contextLength);
    positions = ids.length;
    const out = lm.model.forward(ids);
    const logits = await readData(out);
    out.dispose();
    const V = lm.config.vocabSize;
    rows[dtype] = Array.from({ length: ids.length }, (_, t) => probsOf(logits.slice(t * V, (t + 1) * V)));
    lm.model.dispose();
  }
  const argmax = (p: Float32Array) => p.reduce((best, v, i) => (v > p[best] ? i : best), 0);
  const report: Record<string, unknown> = { model: name, positions };
  for (const dtype of ['q8_0', 'q4_0']) {
    const kls = rows[dtype].map((p, t) => klNats(rows.f32[t], p));
    const same = rows[dtype].filter((p, t) => argmax(p) === argmax(rows.f32[t])).length;
    let maxProbDiff = 0;
    rows[dtype].forEach((p, t) => p.forEach((v, i) => (maxProbDiff = Math.max(maxProbDiff, Math.abs(v - rows.f32[t][i])))));
    report[dtype] = { meanKlNats: kls.reduce((x, y) => x + y, 0) / kls.length, maxKlNats: Math.max(...kls), top1Agreement: same / positions, maxProbDiff };
  }
  console.log(JSON.stringify(report));
});
