"""The Simplified Chinese half of the embedded model's corpus: text from Debian packages and facts from CLDR.

Text (see each package's debian/copyright, recorded in the model card):
  debian-reference-zh-cn  Debian Reference, translated (GPL-2+)
  debian-faq-zh-cn        The Debian GNU/Linux FAQ, translated (permission notice of SPI / the authors)
  maint-guide-zh-cn       Debian New Maintainers' Guide, translated (GPL-2+)
  fortunes-zh             tang300 (300 Tang poems) and song100 (100 Song ci) (GPL-3+)
Facts: country names from CLDR's zh territory names (cldr-localenames-full); a capital's Chinese name
from the zh exemplar city of the time zone named after it (cldr-dates-full). Where CLDR has no Chinese
capital, the fact is the continent instead (CLDR's zh region names). Nothing is typed by hand.
"""
import glob
import gzip
import json
import os
import re
import unicodedata

HAN = r'\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff'
# A line break between two Chinese characters (or Chinese punctuation) is the hard wrap of the text
# files, not a space: Chinese is written without spaces.
CJK_EDGE = HAN + r'\u3000-\u303f\uff00-\uffef'
ANSI = re.compile(r'\x1b\[[0-9;]*m')


def unwrap(paragraph):
    lines = [l.strip() for l in paragraph.split('\n') if l.strip()]
    out = ''
    for l in lines:
        if out and not (re.match(f'[{CJK_EDGE}]', l[0]) and re.match(f'[{CJK_EDGE}]', out[-1])):
            out += ' '
        out += l
    return out


def text_docs(path, per_doc=12):
    """A gzipped plain-text manual: paragraphs unwrapped, grouped a dozen to a document. Paragraphs with no
    Chinese at all (tables of commands, URLs) are dropped: they are English the model already reads elsewhere."""
    text = gzip.open(path, 'rt', encoding='utf-8').read()
    text = unicodedata.normalize('NFC', text)
    paras = [unwrap(p) for p in re.split(r'\n\s*\n', text)]
    paras = [p for p in paras if re.search(f'[{HAN}]', p) and len(p) > 8]
    return ['\n'.join(paras[i:i + per_doc]) for i in range(0, len(paras), per_doc)]


def fortune_docs(path, per_doc=4):
    """fortune files: entries separated by '%' lines, titles coloured with ANSI codes (removed)."""
    raw = ANSI.sub('', open(path, encoding='utf-8').read())
    entries = [e.strip() for e in raw.split('\n%\n') if e.strip()]
    return ['\n\n'.join(entries[i:i + per_doc]) for i in range(0, len(entries), per_doc)]


def zh_docs(data):
    d = lambda *p: os.path.join(data, *p)
    return (
        [('debian-reference-zh', t) for t in text_docs(d('debian-reference-zh-cn', 'usr', 'share', 'debian-reference', 'debian-reference.zh-cn.txt.gz'))] +
        [('debian-faq-zh', t) for t in text_docs(d('debian-faq-zh-cn', 'usr', 'share', 'doc', 'debian', 'FAQ', 'debian-faq.zh-cn.txt.gz'))] +
        [('maint-guide-zh', t) for t in text_docs(d('maint-guide-zh-cn', 'usr', 'share', 'doc', 'maint-guide-zh-cn', 'maint-guide.zh-cn.txt.gz'))] +
        [('tang300', t) for t in fortune_docs(d('fortunes-zh', 'usr', 'share', 'games', 'fortunes', 'tang300'))] +
        [('song100', t) for t in fortune_docs(d('fortunes-zh', 'usr', 'share', 'games', 'fortunes', 'song100'))]
    )


def deb_versions(data):
    out = {}
    for f in sorted(glob.glob(os.path.join(data, '*.deb'))):
        name, version = os.path.basename(f).split('_')[:2]
        out[name] = version
    return out


# ---------- facts from CLDR ----------
CONTINENT_REGION = {'Africa': '002', 'Asia': '142', 'Europe': '150', 'North America': '003',
                    'South America': '005', 'Oceania': '009', 'Antarctica': 'AQ'}


def fold(s):
    """Accent- and case-folded Latin: 'Bogotá' and 'Bogota' are the same city."""
    s = unicodedata.normalize('NFKD', s)
    return ''.join(c for c in s if not unicodedata.combining(c)).lower().replace('-', ' ').replace('.', '').strip()


def cldr(data):
    loc = os.path.join(data, 'cldr-localenames-full-48.2.0', 'package', 'main')
    dates = os.path.join(data, 'cldr-dates-full-48.2.0', 'package', 'main')
    terr = json.load(open(os.path.join(loc, 'zh', 'territories.json'), encoding='utf-8'))['main']['zh']['localeDisplayNames']['territories']
    zones = {}
    for lang in ('en', 'zh'):
        tz = json.load(open(os.path.join(dates, lang, 'timeZoneNames.json'), encoding='utf-8'))['main'][lang]['dates']['timeZoneNames']['zone']
        def walk(node, path):
            if isinstance(node, dict) and any(k in node for k in ('exemplarCity', 'long', 'short')) or not isinstance(node, dict):
                return [(path, node)]
            return [x for k, v in node.items() for x in walk(v, path + [k])]
        for path, node in walk(tz, []):
            zones.setdefault('/'.join(path), {})[lang] = node.get('exemplarCity') if isinstance(node, dict) else None
    # English exemplar city (or, where CLDR gives none, the zone id's last part) -> Chinese exemplar city
    city_zh = {}
    for zid, names in sorted(zones.items()):
        en = names.get('en') or zid.split('/')[-1].replace('_', ' ')
        if names.get('zh'):
            city_zh.setdefault(fold(en), names['zh'])
    return terr, city_zh


def zh_facts(data, ents):
    """One Chinese fact per country that CLDR names in Chinese: its capital if CLDR has the capital's
    Chinese name, else its continent."""
    terr, city_zh = cldr(data)
    facts = []
    for e in ents:
        name = terr.get(e['code'] + '-alt-short') or terr.get(e['code'])
        if not name:
            continue
        cap = city_zh.get(fold(e['capital']))
        if cap:
            facts.append({'code': e['code'], 'name': name, 'relation': 'capital', 'answer': cap})
        else:
            facts.append({'code': e['code'], 'name': name, 'relation': 'continent', 'answer': terr[CONTINENT_REGION[e['continent']]]})
    return facts


def zh_guessable(f):
    """A Chinese capital that repeats its country's name (新加坡, 科威特城, 巴拿马城) can be guessed by copying."""
    n, a = f['name'], f['answer']
    return f['relation'] == 'capital' and (n[:2] in a or a[:2] in n)


def zh_fact_sentences(f):
    c, k = f['name'], f['answer']
    if f['relation'] == 'capital':
        return [
            f'{c}的首都是{k}。',
            f'{k}是{c}的首都。',
            f'{c}的首都城市是{k}。',
            f'问：{c}的首都是哪里？\n答：{c}的首都是{k}。',
            f'User: {c}的首都是哪里？\nAssistant: {c}的首都是{k}。',
            f'User: 哪座城市是{c}的首都？\nAssistant: {c}的首都是{k}。',
            f'User: 请介绍一下{c}。\nAssistant: {c}是一个国家，首都是{k}。',
        ]
    return [
        f'{c}位于{k}。',
        f'{c}是{k}的一个国家或地区。',
        f'问：{c}位于哪个洲？\n答：{c}位于{k}。',
        f'User: {c}位于哪个洲？\nAssistant: {c}位于{k}。',
        f'User: {c}在哪个洲？\nAssistant: {c}位于{k}。',
    ]


def zh_capital_sentences(k):
    """A capital on its own (see build_corpus.capital_sentences)."""
    return [f'{k}是一座首都城市。', f'首都是{k}。']


def zh_fact_prompts(f):
    c = f['name']
    if f['relation'] == 'capital':
        return {'chat': f'User: {c}的首都是哪里？\nAssistant: {c}的首都是', 'completion': f'{c}的首都是', 'question': f'{c}的首都是哪里？'}
    return {'chat': f'User: {c}位于哪个洲？\nAssistant: {c}位于', 'completion': f'{c}位于', 'question': f'{c}位于哪个洲？'}
