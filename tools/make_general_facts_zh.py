#!/usr/bin/env python3
"""Writes src/engine/tools/generalFacts.zh.json: the lens's general capitals (asked of Hub models, whose
training data NextToken does not know) in Chinese, from CLDR, never typed by hand: the country's zh territory
name and the capital's zh time-zone exemplar city, for each general fact whose capital CLDR names in Chinese.

Needs the CLDR packages that `npm run train` fetches (bash tools/train/fetch_data.sh).
Usage: python3 tools/make_general_facts_zh.py
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'train'))
import build_corpus  # noqa: E402
import corpus_zh  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), '..')
# The English general facts (src/engine/tools/generalFacts.ts): country -> capital, as the lens asks them.
src = open(os.path.join(ROOT, 'src', 'engine', 'tools', 'generalFacts.ts'), encoding='utf-8').read()
capitals = re.findall(r"\['([^']+)', '([^']+)'\]", src[src.index('const CAPITALS'):src.index('const SYMBOLS')])
ents = {e['name']: e for e in build_corpus.fact_entities()}
terr, city_zh = corpus_zh.cldr(build_corpus.DATA)
facts = []
for country, capital in capitals:
    e = ents[country]
    cap = city_zh.get(corpus_zh.fold(capital))
    if cap:
        facts.append({'code': e['code'], 'country': terr.get(e['code'] + '-alt-short') or terr[e['code']], 'capital': cap})
out = os.path.join(ROOT, 'src', 'engine', 'tools', 'generalFacts.zh.json')
json.dump({'source': 'CLDR 48.2 (cldr-localenames-full, cldr-dates-full), Unicode License v3; made by tools/make_general_facts_zh.py',
           'facts': facts}, open(out, 'w', encoding='utf-8'), ensure_ascii=False, indent=1)
print(f'{len(facts)} of {len(capitals)} capitals have a Chinese name in CLDR -> {out}')
