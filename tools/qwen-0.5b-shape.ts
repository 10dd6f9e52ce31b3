// Writes a model of Qwen2.5-0.5B's shape (494M parameters: 24 layers, width 896, 14 query heads and 2 key/value
// heads of 64, MLP 4,864, a tied 151,936-token embedding, q/k/v biases) with random BF16 weights, as the Hub
// ships it, and GPT-2's tokenizer (fewer tokens than the table, which the engine allows). For memory and speed
// measurements at full size without the network:  npx tsx tools/qwen-0.5b-shape.ts [out-dir]
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gpt2TokenizerJson } from './gpt2-124m.ts';

export const QWEN_05B = { hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936 };

export function writeQwenShape(out: string, seed = 1): number {
  const { hidden_size: D, intermediate_size: I, num_hidden_layers: L, num_attention_heads: H, num_key_value_heads: KV, vocab_size: V } = QWEN_05B;
  const hd = D / H;
  const tensors: [string, number[]][] = [['model.embed_tokens.weight', [V, D]]];
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}.`;
    tensors.push([p + 'input_layernorm.weight', [D]], [p + 'post_attention_layernorm.weight', [D]]);
    tensors.push([p + 'self_attn.q_proj.weight', [H * hd, D]], [p + 'self_attn.q_proj.bias', [H * hd]]);
    tensors.push([p + 'self_attn.k_proj.weight', [KV * hd, D]], [p + 'self_attn.k_proj.bias', [KV * hd]]);
    tensors.push([p + 'self_attn.v_proj.weight', [KV * hd, D]], [p + 'self_attn.v_proj.bias', [KV * hd]]);
    tensors.push([p + 'self_attn.o_proj.weight', [D, H * hd]]);
    tensors.push([p + 'mlp.gate_proj.weight', [I, D]], [p + 'mlp.up_proj.weight', [I, D]], [p + 'mlp.down_proj.weight', [D, I]]);
  }
  tensors.push(['model.norm.weight', [D]]);
  // The safetensors header: BF16 tensors back to back.
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const head = new Uint8Array(8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(json.length), true);
  head.set(new TextEncoder().encode(json), 8);
  mkdirSync(out, { recursive: true });
  const fd = openSync(join(out, 'model.safetensors'), 'w');
  writeSync(fd, head);
  let state = seed >>> 0;
  let params = 0;
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (const [name, shape] of tensors) {
    const n = shape.reduce((a, b) => a * b, 1);
    params += n;
    const data = new Uint16Array(n);
    const norm = name.endsWith('layernorm.weight') || name === 'model.norm.weight';
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0; // an LCG: fast, and good enough for random weights
      f[0] = (norm ? 1 : 0) + 0.02 * ((state / 2 ** 32) * 2 - 1) * 1.7;
      data[i] = u[0] >>> 16; // BF16: the top half of the float32
    }
    writeSync(fd, new Uint8Array(data.buffer));
  }
  closeSync(fd);
  const config = { model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], ...QWEN_05B, head_dim: hd, max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, hidden_act: 'silu', use_sliding_window: false, torch_dtype: 'bfloat16', bos_token_id: 50256, eos_token_id: 50256 };
  writeFileSync(join(out, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(gpt2TokenizerJson()));
  writeFileSync(join(out, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'GPT2Tokenizer', bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', add_prefix_space: false }));
  return params;
}

if (process.argv[1]?.endsWith('qwen-0.5b-shape.ts')) {
  const out = process.argv[2] ?? '.cache/qwen2.5-0.5b-shape';
  console.log(`wrote ${out}: ${writeQwenShape(out)} parameters`);
}
