// npm run -s bench:peer -- [--models embedded,124m,smollm2-135m,stories15m] [--model <Hugging Face folder>] [--dtype f32,q8_0,q4_0] [--threads 1,2] [--runs 7] [--warmups 3] [--json]
//
// NextToken against llama.cpp compiled to WebAssembly (@wllama/wllama, pinned in package.json) on the
// same weights (converted to F32 GGUF by tools/gguf.ts; at --dtype q8_0 or q4_0 to a GGUF of that type by
// tools/ggufWrite.ts, which NextToken then loads too: the same file for both), in one headless Chromium page (bench.html?peer), interleaved run
// by run (the order alternating), warm-ups discarded, medians reported. Before timing it checks that
// both engines read the prompt as the same number of tokens and produce the same greedy ids.
// One JSON line per model × thread count. It measures; nothing asserts on its numbers.
//
// Threads: tfjs-backend-wasm sizes its pool as min(requested, navigator.hardwareConcurrency / 2), so on
// a 2-vCPU machine it would never use 2; for the 2-thread runs the page is told it has 4 (both engines
// are then asked for exactly 2 threads).
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { parseGguf } from '../src/engine/load/gguf.ts';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs, runMain, UsageError } from '../src/cli/args.ts';
import { launch, ROOT, startApp, stopApp } from './browser.ts';
import { writeGpt2Random } from './gpt2-124m.ts';
import { writeGguf } from './gguf.ts';
import { sentencePieceOf, writeFixtureGguf } from './ggufWrite.ts';
import { startHubServer } from './hubServer.ts';
import { convertStories, STORIES_GGUF, STORIES_HF_DIR } from './tinystories.ts';
import { writeSmolLM2Shape } from './smollm2-135m-shape.ts';

interface RunResult {
  ids: number[];
  promptTokens: number;
  ttftMs: number;
  decodeTokPerSec: number;
}

interface PeerModel {
  dir: string;
  prompt: string;
  tokens: number;
  make?: (dir: string) => void;
  /** Writes the model's GGUF at a precision (default: tools/gguf.ts at f32, tools/ggufWrite.ts quantized). */
  gguf?: (dtype: string, file: string) => void;
}

const MODELS: Record<string, PeerModel> = {
  embedded: {
    dir: join(ROOT, 'models', 'nexttoken-3m'),
    prompt: 'Once upon a time, there was a little girl named Lily. She liked to play in the park with her',
    tokens: 128,
  },
  '124m': {
    dir: join(ROOT, '.cache', 'gpt2-124m-random'),
    prompt: 'The history of the city begins in the early years of the nineteenth century, when a small group of settlers arrived from the coast and built a market, a school and a church near the river, which soon became the centre of trade for',
    tokens: 64,
    make: (dir) => writeGpt2Random(dir),
  },
  // SmolLM2-135M's Llama shape (30 layers, grouped-query attention), random weights and GPT-2's tokenizer.
  'smollm2-135m': {
    dir: join(ROOT, '.cache', 'smollm2-135m-random'),
    prompt: 'The history of the city begins in the early years of the nineteenth century, when a small group of settlers arrived from the coast and built a market, a school and a church near the river, which soon became the centre of trade for',
    tokens: 64,
    make: (dir) => writeSmolLM2Shape(dir),
    gguf: (dtype, file) => writeFixtureGguf(join(ROOT, '.cache', 'smollm2-135m-random'), file, dtype === 'q8_0' ? 'Q8_0' : dtype === 'q4_0' ? 'Q4_0' : 'F32'),
  },
  // The shipped storyteller (Llama architecture, SentencePiece): at q4_0 both engines load the very file that ships.
  stories15m: {
    dir: STORIES_HF_DIR,
    prompt: 'Once upon a time, there was a little girl named Lily. She liked to play in the park with her',
    tokens: 128,
    make: () => convertStories(),
    gguf: (dtype, file) => {
      if (dtype === 'q4_0') return copyFileSync(STORIES_GGUF, file);
      // The same tokenizer as the shipped file: its scores and types, read back from it.
      const meta = parseGguf(new Uint8Array(readFileSync(STORIES_GGUF)), STORIES_GGUF).metadata;
      const sentencePiece = { scores: (meta.get('tokenizer.ggml.scores') as number[]).map(Number), types: (meta.get('tokenizer.ggml.token_type') as number[]).map(Number) };
      writeFixtureGguf(STORIES_HF_DIR, file, dtype === 'q8_0' ? 'Q8_0' : 'F32', { sentencePiece, eotTokenId: 1 });
    },
  },
};

/**
 * A Hugging Face folder given with --model (gpt2, llama, qwen2, qwen3; float32/16 safetensors, a byte-level BPE
 * or a SentencePiece BPE tokenizer): registered as a peer model named after the folder, converted to GGUF like the built-in shapes.
 */
function folderModel(folder: string): string {
  const dir = resolve(folder);
  if (!['config.json', 'model.safetensors', 'tokenizer.json'].every((f) => existsSync(join(dir, f)))) {
    throw new UsageError(`--model: ${folder} is not a Hugging Face model folder (it needs config.json, model.safetensors and tokenizer.json)`);
  }
  const name = `folder-${basename(dir)}`;
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { model_type?: string; vocab_size: number };
  const gpt2 = config.model_type === 'gpt2';
  // A SentencePiece tokenizer (Llama 2's kind) goes into the GGUF as llama.cpp's `llama` kind, so that both engines split the prompt alike.
  const sentencePiece = sentencePieceOf(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), config.vocab_size) ?? undefined;
  MODELS[name] = {
    dir,
    prompt: MODELS['124m'].prompt,
    tokens: 64,
    gguf: (dtype, file) => (dtype === 'f32' && gpt2 ? writeGguf(dir, file) : void writeFixtureGguf(dir, file, dtype === 'q8_0' ? 'Q8_0' : dtype === 'q4_0' ? 'Q4_0' : 'F32', { sentencePiece })),
  };
  return name;
}

const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

runMain(async () => {
  const a = parseArgs(process.argv.slice(2), { models: 'string', model: 'string', dtype: 'string', threads: 'string', runs: 'int', warmups: 'int', json: 'boolean' });
  const dtypes = ((a.dtype as string | undefined) ?? 'f32').split(',');
  for (const d of dtypes) if (!['f32', 'q8_0', 'q4_0'].includes(d)) throw new UsageError(`--dtype: "${d}" is not f32, q8_0 or q4_0`);
  const folder = a.model as string | undefined;
  const models = a.models || !folder ? ((a.models as string | undefined) ?? 'embedded,124m').split(',') : [];
  for (const m of models) if (!MODELS[m]) throw new UsageError(`--models: unknown model "${m}" (known: ${Object.keys(MODELS).join(', ')})`);
  if (folder) models.push(folderModel(folder));
  const threadCounts = ((a.threads as string | undefined) ?? '1,2').split(',').map(Number);
  const runs = (a.runs as number | undefined) ?? 7;
  const warmups = (a.warmups as number | undefined) ?? 3;

  // The same weights for both: the project's folder, and its GGUF conversion (made once).
  const repos: Record<string, string> = {};
  for (const m of models) {
    const spec = MODELS[m];
    if (!existsSync(join(spec.dir, 'model.safetensors'))) {
      if (!spec.make) throw new Error(`${spec.dir} has no model.safetensors`);
      process.stderr.write(`writing ${spec.dir} (once)…\n`);
      spec.make(spec.dir);
    }
    const ggufDir = join(ROOT, '.cache', 'peer', m);
    mkdirSync(ggufDir, { recursive: true });
    for (const d of dtypes) {
      const file = join(ggufDir, `model-${d}.gguf`);
      // Made once; again when the weights, config or tokenizer are newer than the conversion (a folder given with --model may
      // change), or the converters are.
      const sources = ['model.safetensors', 'config.json', 'tokenizer.json'].map((f) => join(spec.dir, f)).concat(['gguf.ts', 'ggufWrite.ts'].map((f) => join(import.meta.dirname, f)));
      const newest = Math.max(...sources.filter((f) => existsSync(f)).map((f) => statSync(f).mtimeMs));
      if (existsSync(file) && statSync(file).mtimeMs >= newest) continue;
      process.stderr.write(`converting ${spec.dir} to a ${d} GGUF (once)…\n`);
      if (spec.gguf) spec.gguf(d, file);
      else if (d === 'f32') writeGguf(spec.dir, file);
      else writeFixtureGguf(spec.dir, file, d === 'q8_0' ? 'Q8_0' : 'Q4_0');
    }
    repos[`bench/${m}`] = spec.dir;
    repos[`gguf/${m}`] = ggufDir;
  }
  const files = await startHubServer(repos);
  const base = await startApp({ bench: true });
  const browser = await launch();
  try {
    for (const m of models) {
      const spec = MODELS[m];
      for (const dtype of dtypes) for (const threads of threadCounts) {
        const context = await browser.newContext();
        const page = await context.newPage();
        // Chromium's own override (DevTools protocol), seen by the page and its workers alike.
        if (threads > 1) await (await context.newCDPSession(page)).send('Emulation.setHardwareConcurrencyOverride', { hardwareConcurrency: threads * 2 });
        const gguf = `${files.url}/gguf/${m}/resolve/main/model-${dtype}.gguf`;
        // Quantized, both engines load the one GGUF file; at f32 NextToken reads the folder, llama.cpp its conversion.
        const q = new URLSearchParams({ model: dtype === 'f32' ? `${files.url}/bench/${m}/resolve/main/` : gguf, gguf, threads: String(threads) });
        await page.goto(`${base}bench.html?peer&${q}`);
        await page.waitForFunction(() => document.title === 'ready', null, { timeout: 600_000 });
        const error = await page.evaluate(() => (window as unknown as { __peerError?: string }).__peerError);
        if (error) throw new Error(`${m}, ${threads} thread(s): ${error}`);
        const info = await page.evaluate(() => (window as unknown as { __peer: { info: unknown } }).__peer.info);
        const call = (engine: 'project' | 'llamaCpp', n = spec.tokens) =>
          page.evaluate(([e, p, k]) => (window as unknown as { __peer: Record<string, (p: string, n: number) => Promise<RunResult>> }).__peer[e](p, k), [engine, spec.prompt, n] as const);

        // Same computation first: the same prompt length and the same greedy ids.
        const [mine, theirs] = [await call('project', 32), await call('llamaCpp', 32)];
        const agree = mine.promptTokens === theirs.promptTokens && mine.ids.length === theirs.ids.length && mine.ids.every((id, i) => id === theirs.ids[i]);
        // Where they part, if they do: how many greedy ids agree first, and both lists (for a witness to compute them).
        const sameFirst = mine.ids.findIndex((id, i) => id !== theirs.ids[i]);
        const project: RunResult[] = [];
        const peer: RunResult[] = [];
        for (let r = 0; r < warmups + runs; r++) {
          // Interleaved, the order alternating, so drift (heat, other load) falls on both alike.
          const order: ('project' | 'llamaCpp')[] = r % 2 ? ['llamaCpp', 'project'] : ['project', 'llamaCpp'];
          for (const e of order) {
            const res = await call(e);
            if (r >= warmups) (e === 'project' ? project : peer).push(res);
          }
        }
        // The floor under any engine's decode step here: streaming the weights as NextToken holds them once, on one thread.
        const floor = await page.evaluate(() => (window as unknown as { __peer: { readFloor: () => Promise<{ bytes: number; ms: number; gbPerSec: number }> } }).__peer.readFloor());
        const p = { tok: median(project.map((x) => x.decodeTokPerSec)), ttft: median(project.map((x) => x.ttftMs)) };
        const l = { tok: median(peer.map((x) => x.decodeTokPerSec)), ttft: median(peer.map((x) => x.ttftMs)) };
        const line = {
          model: m,
          dtype,
          threads,
          projectTokPerSec: round(p.tok),
          peerTokPerSec: round(l.tok),
          ratio: round(p.tok / l.tok, 3),
          projectTtftMs: round(p.ttft),
          peerTtftMs: round(l.ttft),
          ttftRatio: round(p.ttft / l.ttft, 3),
          projectMsPerToken: round(1000 / p.tok, 2),
          peerMsPerToken: round(1000 / l.tok, 2),
          weightReadFloorMs: round(floor.ms, 2),
          weightReadGBps: round(floor.gbPerSec, 1),
          weightBytes: floor.bytes,
          promptTokens: mine.promptTokens,
          peerPromptTokens: theirs.promptTokens,
          generatedTokens: spec.tokens,
          greedyIdsAgree: agree,
          ...(agree ? {} : { greedyIdsAgreeFirst: sameFirst < 0 ? mine.ids.length : sameFirst, projectIds: mine.ids, peerIds: theirs.ids }),
          runs,
          warmups,
          loadAverage: round(loadavg()[0]),
          info,
        };
        console.log(a.json ? JSON.stringify(line) : JSON.stringify(line, null, 2));
        await context.close();
      }
    }
  } finally {
    await browser.close();
    await stopApp();
    await files.close();
  }
});
