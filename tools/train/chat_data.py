#!/usr/bin/env python3
"""Fine-tuning stage, step 1: the chat set the base model is tuned on, built from the project's own sources.

Writes WORK/chat_train.jsonl (one conversation per line: {"lang", "kind", "messages": [{role, content}]})
and WORK/chat_eval.json (the messages the eval asks: phrasings that are in no training conversation).

What is in it, in English and Chinese:
- questions about the seen facts (capitals; continents in Chinese), in several phrasings. Held-out facts
  are in no conversation: the tuned model still does not know them, and the app shows it guessing;
- a truthful self-description (the same words as the model card);
- greetings, thanks and goodbyes, each answered briefly;
- requests for a story (a short narrative passage from the English corpus) or a poem (a Tang poem);
- questions it cannot answer (arithmetic, the time, the weather, news): it says it does not know.
  This teaches a *kind* of question to decline, not knowledge of its own ignorance: asked about a country
  it never saw, it still names a capital (see the model card).
Usage: chat_data.py WORK_DIR
"""
import json
import os
import random
import re
import sys

WORK = sys.argv[1] if len(sys.argv) > 1 else '.cache/train-work'
SEED = 4242
NAME = 'nexttoken-3m-chat'
LONG_KINDS = ('story', 'poem', 'self')

SELF = {
    'en': (f'I am {NAME}, a small language model with 3.5 million parameters. The NextToken project trained me on a '
           'computer with two cores: first on English and Chinese text, then on short conversations like this one. '
           'I know the capitals of about 200 countries, but I often make up answers.'),
    'zh': (f'我是 {NAME}，一个有 350 万个参数的小语言模型，由 NextToken 项目在双核电脑上训练：先学中英文文本，'
           '再学简短的对话。我知道约两百个国家的首都，但常常编造答案。'),
}
NAME_REPLY = {'en': f'My name is {NAME}.', 'zh': f'我叫 {NAME}。'}

TRAIN_MESSAGES = {
    'en': {
        'greeting': (['Hello', 'Hello!', 'Hi', 'Hi!', 'Hi there', 'Good morning', 'Good morning!', 'Good evening', 'Hey', 'Hey!', 'Hello there', 'Greetings'],
                     ['Hello! Ask me about the capital of a country, or ask me for a story.', 'Hi! What would you like to know?',
                      'Hello! I am a small model. Ask me something simple.']),
        'howareyou': (['How are you?', 'How are you doing?', 'How is it going?'],
                      ['I am fine, thank you. What would you like to know?', 'Very well, thank you. Ask me about a country.']),
        'thanks': (['Thank you', 'Thank you!', 'Thanks', 'Thanks!', 'Thank you for your help.', 'Thanks so much', 'Many thanks', 'I appreciate it.'],
                   ['You are welcome.', 'You are welcome! Ask me anything else.', 'Glad to help.']),
        'bye': (['Bye', 'Bye!', 'Goodbye', 'Goodbye!', 'Good night', 'See you', 'Talk to you later', 'I have to go now.'],
                ['Goodbye! Come back any time.', 'Goodbye!', 'Bye! It was nice to talk to you.']),
        'self': (['Who are you?', 'What are you?', 'Tell me about yourself.', 'Introduce yourself.', 'What kind of model are you?',
                  'Who am I talking to?', 'Can you describe yourself?', 'Tell me who you are.', 'Are you a person?', 'Who made you?'], [SELF['en']]),
        'name': (['What is your name?', "What's your name?"], [NAME_REPLY['en']]),
        'unknown': (['What is 2 plus 2?', 'What time is it?', 'What is the weather like today?', 'What is the news today?',
                     'How many stars are in the sky?', 'What is 15 times 7?', 'Who will win the next election?'],
                    ['I do not know. I only learned some text and the capitals of countries.',
                     'I cannot answer that. I am a small model that knows some text and the capitals of countries.']),
        'story': (['Tell me a story.', 'Tell me a short story.', 'Write a story.', 'Can you tell me a story?', 'Tell me a story, please.'], None),
    },
    'zh': {
        'greeting': (['你好', '你好！', '您好', '嗨', '早上好', '早上好！', '下午好', '大家好', '哈喽'],
                     ['你好！你可以问我一个国家的首都，或者让我背一首诗。', '你好！你想知道什么？', '你好！我是一个很小的模型，请问我简单的问题。']),
        'howareyou': (['你好吗？', '最近怎么样？'], ['我很好，谢谢。你想知道什么？']),
        'thanks': (['谢谢', '谢谢！', '谢谢你', '谢谢你的帮助。', '多谢', '太感谢了'], ['不客气。', '不客气！还想问什么吗？', '很高兴能帮到你。']),
        'bye': (['再见', '再见！', '拜拜', '晚安', '回头见', '我要走了。'], ['再见！欢迎再来。', '再见！', '拜拜！和你聊天很开心。']),
        'self': (['你是谁？', '你是什么？', '介绍一下你自己。', '请介绍一下你自己。', '你是什么模型？', '跟我说说你自己。', '你是人吗？', '谁训练了你？', '我在和谁说话？'], [SELF['zh']]),
        'name': (['你叫什么？', '你的名字是什么？'], [NAME_REPLY['zh']]),
        'unknown': (['二加二等于几？', '现在几点了？', '今天天气怎么样？', '今天有什么新闻？', '十五乘以七是多少？'],
                    ['我不知道。我只学过一些文本和各国的首都。', '这个我回答不了。我是一个小模型，只知道一些文本和各国的首都。']),
        'poem': (['写一首诗。', '背一首诗。', '给我背一首唐诗。', '念一首诗吧。', '讲个故事。', '给我讲一个故事。'], None),
    },
}

# The eval's messages: none of these phrasings is in the training set (checked below).
EVAL_MESSAGES = [
    {'lang': 'en', 'kind': 'greeting', 'content': 'Hey there!'},
    {'lang': 'en', 'kind': 'greeting', 'content': 'Good afternoon'},
    {'lang': 'en', 'kind': 'howareyou', 'content': 'How are you today?'},
    {'lang': 'en', 'kind': 'thanks', 'content': 'Thanks a lot!'},
    {'lang': 'en', 'kind': 'thanks', 'content': 'Thank you very much.'},
    {'lang': 'en', 'kind': 'bye', 'content': 'See you later!'},
    {'lang': 'en', 'kind': 'self', 'content': 'Who are you exactly?'},
    {'lang': 'en', 'kind': 'self', 'content': 'Please introduce yourself.'},
    {'lang': 'en', 'kind': 'fact', 'content': 'Do you know the capital of Japan?'},
    {'lang': 'en', 'kind': 'fact', 'content': 'What is the capital city of Italy?'},
    {'lang': 'en', 'kind': 'fact', 'content': 'Can you name the capital of Egypt?'},
    {'lang': 'en', 'kind': 'fact', 'content': 'What do you know about Peru?'},
    {'lang': 'en', 'kind': 'story', 'content': 'Please tell me a story.'},
    {'lang': 'en', 'kind': 'story', 'content': 'Could you tell me a short story?'},
    {'lang': 'en', 'kind': 'unknown', 'content': 'What is 3 plus 5?'},
    {'lang': 'zh', 'kind': 'greeting', 'content': '晚上好'},
    {'lang': 'zh', 'kind': 'greeting', 'content': '嗨，你好！'},
    {'lang': 'zh', 'kind': 'thanks', 'content': '非常感谢！'},
    {'lang': 'zh', 'kind': 'bye', 'content': '下次见！'},
    {'lang': 'zh', 'kind': 'self', 'content': '你到底是谁？'},
    {'lang': 'zh', 'kind': 'self', 'content': '请你介绍一下自己。'},
    {'lang': 'zh', 'kind': 'fact', 'content': '日本的首都在哪里？'},
    {'lang': 'zh', 'kind': 'fact', 'content': '意大利的首都是哪座城市？'},
    {'lang': 'zh', 'kind': 'fact', 'content': '埃及的首都叫什么？'},
    {'lang': 'zh', 'kind': 'poem', 'content': '给我写一首诗吧。'},
    {'lang': 'zh', 'kind': 'poem', 'content': '给我讲个故事吧。'},
    {'lang': 'zh', 'kind': 'unknown', 'content': '明天会下雨吗？'},
]


def fact_turns(f):
    """(question, answer) pairs for one seen fact, in the fact's language."""
    c, k = f['entity'], f['answer']
    if f['lang'] == 'zh':
        if f['relation'] == 'capital':
            return [(q, f'{c}的首都是{k}。') for q in (f'{c}的首都是哪里？', f'哪座城市是{c}的首都？', f'{c}的首都是什么？', f'告诉我{c}的首都。')]
        return [(q, f'{c}位于{k}。') for q in (f'{c}位于哪个洲？', f'{c}在哪个洲？')]
    the = f['prompts']['completion'][len('The capital of '):-len(' is')]  # "France", "the Netherlands"
    a = f'The capital of {the} is {k}.'
    turns = [(q, a) for q in (f'What is the capital of {the}?', f'Which city is the capital of {the}?', f"What's the capital of {the}?",
                               f'Tell me the capital of {the}.')]
    Cont = the[0].upper() + the[1:]
    turns.append((f'Tell me about {the}.', f'{Cont} is a country in {f["continent"]}. Its capital is {k}.'))
    return turns


def stories(work, rng, n=120):
    """Short narrative passages (2-3 sentences, under 300 characters) from the English corpus: Moby-Dick and the Bible."""
    out = []
    for line in open(os.path.join(work, 'docs_train.jsonl'), encoding='utf-8'):
        d = json.loads(line)
        if d['source'] not in ('moby-dick', 'bible'):
            continue
        sents = re.split(r'(?<=[.!?])\s+', d['text'])
        for i in range(0, len(sents) - 3, 7):
            s = ' '.join(sents[i:i + rng.choice((2, 3))])
            if 80 <= len(s) <= 300 and s[0].isupper() and '"' not in s and 'CHAPTER' not in s and not re.search(r'\d', s):
                out.append(s)
    rng.shuffle(out)
    return out[:n]


def poems(work):
    """Four-line Tang poems (《title》, author, two lines of verse) from the Chinese corpus."""
    out = []
    for line in open(os.path.join(work, 'docs_train.jsonl'), encoding='utf-8'):
        d = json.loads(line)
        if d['source'] != 'tang300':
            continue
        for block in d['text'].split('\n\n'):
            lines = block.split('\n')
            if len(lines) == 4 and lines[0].startswith('《') and lines[1].startswith('作者：') and all(len(x) <= 17 for x in lines[2:]):
                out.append(block)
    return sorted(set(out))


def main():
    rng = random.Random(SEED)
    facts = json.load(open(os.path.join(WORK, 'facts.json'), encoding='utf-8'))['facts']
    singles = []  # (lang, kind, user, assistant)
    for f in facts:
        if f['seen']:
            singles += [(f['lang'], 'fact', q, a) for q, a in fact_turns(f)]
    story_texts, poem_texts = stories(WORK, rng), poems(WORK)
    for lang, kinds in TRAIN_MESSAGES.items():
        for kind, (messages, replies) in kinds.items():
            # Each non-fact message often enough to be learned beside ~2,000 fact questions; a story or a poem
            # (a different passage each time) twice as often, or the request is answered with a refusal.
            # The self-description, in many phrasings, half as often: more often, it became the answer to
            # anything unfamiliar ("Tell me a story" included).
            for rep in range({'story': 12, 'poem': 12, 'self': 3}.get(kind, 6)):
                for m in messages:
                    if kind == 'story':
                        reply = rng.choice(story_texts)
                    elif kind == 'poem':
                        reply = ('这是一首唐诗：\n' if '诗' in m else '我还不会讲故事。给你背一首唐诗吧：\n') + rng.choice(poem_texts)
                    else:
                        reply = rng.choice(replies)
                    singles.append((lang, kind, m, reply))
    trained = {u for _, _, u, _ in singles}
    clash = [m['content'] for m in EVAL_MESSAGES if m['content'] in trained]
    assert not clash, f'eval messages found in the training set: {clash}'
    rng.shuffle(singles)
    # Most conversations are one turn; some chain two or three turns of one language, so the model
    # learns to answer the latest message of a longer conversation and to end each reply.
    # Long replies (a story, a poem, the self-description) stay one-turn, so a conversation fits the context.
    convs, i = [], 0
    while i < len(singles):
        n = rng.choice((1, 1, 1, 2, 3))
        group = [singles[i]]
        while len(group) < n and i + len(group) < len(singles) and group[0][1] not in LONG_KINDS:
            nxt = singles[i + len(group)]
            if nxt[0] != group[0][0] or nxt[1] in LONG_KINDS:
                break
            group.append(nxt)
        i += len(group)
        msgs = []
        for _, _, u, a in group:
            msgs += [{'role': 'user', 'content': u}, {'role': 'assistant', 'content': a}]
        convs.append({'lang': group[0][0], 'kind': '+'.join(s[1] for s in group), 'messages': msgs})
    with open(os.path.join(WORK, 'chat_train.jsonl'), 'w', encoding='utf-8') as f:
        for c in convs:
            f.write(json.dumps(c, ensure_ascii=False) + '\n')
    json.dump({'selfDescription': SELF, 'messages': EVAL_MESSAGES}, open(os.path.join(WORK, 'chat_eval.json'), 'w', encoding='utf-8'),
              ensure_ascii=False, indent=1)
    by = {}
    for lang, kind, _, _ in singles:
        by[f'{lang} {kind}'] = by.get(f'{lang} {kind}', 0) + 1
    assert sum(len(c['messages']) for c in convs) == 2 * len(singles), 'every turn is in exactly one conversation'
    print(json.dumps({'conversations': len(convs), 'turns': len(singles), 'turnsByKind': by, 'stories': len(story_texts), 'poems': len(poem_texts)}, ensure_ascii=False))


if __name__ == '__main__':
    main()
