// npm run -s bench -- [--model <dir>] [--prompt-tokens N] [--tokens M] [--backend wasm|cpu] [--profile] --json
import { runBenchmark } from '../engine/measure/bench.ts';
import { parseArgs, runMain, UsageError } from './args.ts';
import { engineOptions, MODEL_FLAGS, startEngine } from './common.ts';

runMain(async () => {
  const a = parseArgs(process.argv.slice(2), { ...MODEL_FLAGS, 'prompt-tokens': 'int', tokens: 'int', json: 'boolean', profile: 'boolean' });
  const tokens = (a.tokens as number | undefined) ?? 64;
  if (tokens < 64) throw new UsageError('--tokens must be at least 64, so the timing is not dominated by noise.');
  const { lm } = await startEngine(engineOptions(a));
  const r = await runBenchmark(lm, (a['prompt-tokens'] as number | undefined) ?? 32, tokens, !!a.profile);
  console.log(a.json ? JSON.stringify(r) : JSON.stringify(r, null, 2));
});
