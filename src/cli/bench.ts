// npm run -s bench -- [--model <dir>] [--prompt-tokens N] [--tokens M] [--backend wasm|cpu] --json
import { runBenchmark } from '../engine/bench.ts';
import { parseArgs, runMain, UsageError } from './args.ts';
import { startEngine } from './common.ts';

runMain(async () => {
  const a = parseArgs(process.argv.slice(2), { model: 'string', 'prompt-tokens': 'int', tokens: 'int', backend: 'string', json: 'boolean' });
  const tokens = (a.tokens as number | undefined) ?? 64;
  if (tokens < 64) throw new UsageError('--tokens must be at least 64, so the timing is not dominated by noise.');
  const { lm } = await startEngine(a.model as string | undefined, a.backend as string | undefined);
  const r = await runBenchmark(lm, (a['prompt-tokens'] as number | undefined) ?? 32, tokens);
  console.log(a.json ? JSON.stringify(r) : JSON.stringify(r, null, 2));
});
