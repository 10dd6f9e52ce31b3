// Fine-tuning stage, step 2: the chat model's tokenizer (the base's, plus ChatML's two turn tokens at new
// ids: every base id keeps its meaning) and the chat set encoded with it, by the very tokenizer the app
// uses. Each conversation is rendered by the chat template; the loss mask marks the tokens the model is
// trained to produce: each assistant reply and the <|im_end|> that ends it, never the user's words.
//   npx tsx tools/train/chat_tokens.ts WORK_DIR
// Writes WORK/chat/{tokenizer.json, tokenizer_config.json}, WORK/chat_ids.bin (uint16), WORK/chat_mask.bin
// (uint8, 1 = trained on), WORK/chat_offsets.json (where each conversation starts) and WORK/chat/facts.json
// (the base's facts, their chat form rendered with the new template).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer, type ChatMessage } from '../../src/engine/load/tokenizer.ts';

const work = process.argv[2] ?? '.cache/train-work';
export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';
// ChatML, as Qwen and many chat models write it; the generation prompt opens the assistant's turn.
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const baseJson = JSON.parse(readFileSync(join(work, 'tokenizer.json'), 'utf8')) as { added_tokens: { id: number }[]; model: { vocab: Record<string, number> } };
const baseConfig = JSON.parse(readFileSync(join(work, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
const baseSize = Object.keys(baseJson.model.vocab).length;
const added = [IM_START, IM_END].map((content, i) => ({ id: baseSize + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
const chatJson = { ...baseJson, added_tokens: [...baseJson.added_tokens, ...added] };
const chatConfig = { ...baseConfig, additional_special_tokens: [IM_START, IM_END], chat_template: CHATML_TEMPLATE };
const out = join(work, 'chat');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(chatJson));
writeFileSync(join(out, 'tokenizer_config.json'), JSON.stringify(chatConfig, null, 2));

const tok = Tokenizer.fromJSON(chatJson, chatConfig);
const base = Tokenizer.fromJSON(baseJson, baseConfig);
const [imStart, imEnd] = added.map((t) => t.id);
if (tok.encode(`${IM_START}user\nHi${IM_END}`).join() !== [imStart, ...base.encode('user\nHi'), imEnd].join()) throw new Error('the turn tokens are not read as single tokens');

interface Conversation {
  lang: string;
  kind: string;
  messages: ChatMessage[];
}
const convs = readFileSync(join(work, 'chat_train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Conversation);
const ids: number[] = [];
const mask: number[] = [];
const offsets: number[] = [];
let maxLen = 0;
for (const c of convs) {
  offsets.push(ids.length);
  const start = ids.length;
  // Turn by turn: the text before each reply (template with the generation prompt) is not trained on;
  // the reply up to and including its <|im_end|> is. Each prefix must tokenize as a prefix of the whole.
  const full = tok.encode(tok.applyChatTemplate(c.messages).slice(0, -`${IM_START}assistant\n`.length));
  let done = 0;
  for (let i = 1; i < c.messages.length; i += 2) {
    const before = tok.encode(tok.applyChatTemplate(c.messages.slice(0, i)));
    const through = tok.encode(tok.applyChatTemplate(c.messages.slice(0, i + 1)).slice(0, -`${IM_START}assistant\n`.length));
    if (before.join() !== full.slice(0, before.length).join() || through.join() !== full.slice(0, through.length).join()) {
      throw new Error(`conversation does not tokenize turn by turn: ${JSON.stringify(c.messages)}`);
    }
    // Reply tokens and the <|im_end|> after them; the "\n" after <|im_end|> is the template's, not trained.
    const replyEnd = through.length - 1; // the trailing "\n"
    if (through[replyEnd - 1] !== imEnd) throw new Error('a reply does not end with <|im_end|>');
    for (let t = done; t < before.length; t++) mask.push(0);
    for (let t = before.length; t < replyEnd; t++) mask.push(1);
    mask.push(0);
    done = through.length;
  }
  ids.push(...full);
  if (mask.length !== ids.length) throw new Error('mask and ids differ in length');
  maxLen = Math.max(maxLen, ids.length - start);
}
offsets.push(ids.length);
if (maxLen > 256) throw new Error(`a conversation is ${maxLen} tokens, over the context of 256`);
writeFileSync(join(work, 'chat_ids.bin'), Uint16Array.from(ids));
writeFileSync(join(work, 'chat_mask.bin'), Uint8Array.from(mask));
writeFileSync(join(work, 'chat_offsets.json'), JSON.stringify(offsets));

// The facts, their chat form in the new template: the question as the user's turn, the answer begun.
const facts = JSON.parse(readFileSync(join(work, 'facts.json'), 'utf8')) as { facts: { prompts: { chat: string; completion: string; question: string } }[] };
for (const f of facts.facts) f.prompts.chat = tok.applyChatTemplate([{ role: 'user', content: f.prompts.question }]) + f.prompts.completion;
writeFileSync(join(out, 'facts.json'), JSON.stringify(facts, null, 1));

console.log(JSON.stringify({ vocab: baseSize + added.length, added: added.map((t) => [t.content, t.id]), conversations: convs.length, tokens: ids.length, trainedTokens: mask.filter(Boolean).length, maxConversationTokens: maxLen }));
