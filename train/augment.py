"""Training-text augmentations, drawn afresh every epoch from the original texts (labels never change):

- counterfactual identity swaps (``--augment-identity P``): a text that names an identity group has every such
  term replaced by another term of the same category and grammatical form ("muslims" -> "buddhists",
  "women" -> "men"), so that naming a group stops being a toxic signal by itself;
- obfuscation (``--augment-obfuscate P``): one :mod:`toxic.eval.perturb` kind drawn at random (leetspeak, typos, spaced
  letters, emoji, ...), so that spelling tricks stop hiding toxicity;
- template sentences (``--augment-templates N``): N extra training rows per epoch from our own templates, filled
  with identity terms from the lists below: friendly or everyday sentences that name a group (labelled not toxic,
  not hate) and hostile ones aimed at a group (toxic and hate), so that every group appears on both sides. Real
  tweets name some groups almost only in abuse ("queer" 73 times); the templates break that link.

The word lists below are our own, written for training, and deliberately broader than any evaluation set's
(bias madlibs is evaluation only: its terms list in ``toxic/eval/evaluate.py`` is not used here). Ambiguous words are
left out or only matched in a phrase ("black people", not "black"; "old people", not "old"). Slurs are not
identity terms: a slur stays, because it is a real toxic signal. Pure Python: no torch, testable anywhere.
"""

from __future__ import annotations

import random
import re

from toxic.eval.perturb import KINDS, perturb

# category -> slots; a slot holds interchangeable terms of one grammatical form. A term swaps within its slot.
IDENTITY_TERMS: dict[str, list[list[str]]] = {
    "religion": [
        ["muslim", "christian", "hindu", "buddhist", "sikh", "catholic", "protestant", "mormon", "atheist",
         "baptist", "jain", "evangelical", "quaker", "pagan"],
        ["muslims", "christians", "jews", "hindus", "buddhists", "sikhs", "catholics", "protestants", "mormons",
         "atheists", "baptists", "jains", "evangelicals", "quakers", "pagans"],
        ["jewish", "islamic", "hindu", "buddhist", "christian", "catholic", "sikh"],
        ["islam", "christianity", "judaism", "hinduism", "buddhism", "sikhism", "catholicism", "mormonism",
         "atheism"],
        ["mosque", "church", "synagogue", "temple", "gurdwara", "chapel"],
        ["mosques", "churches", "synagogues", "temples", "gurdwaras", "chapels"],
    ],
    "race_ethnicity": [
        ["black people", "white people", "asian people", "brown people", "native people", "arab people",
         "indigenous people", "latino people", "hispanic people", "jewish people", "mixed race people"],
        ["black man", "white man", "asian man", "arab man", "latino man", "native man", "hispanic man"],
        ["black men", "white men", "asian men", "arab men", "latino men", "native men", "hispanic men"],
        ["black woman", "white woman", "asian woman", "arab woman", "latina woman", "native woman"],
        ["black women", "white women", "asian women", "arab women", "latina women", "native women"],
        ["blacks", "whites", "asians", "hispanics", "latinos", "arabs", "africans", "europeans"],
        ["hispanic", "latino", "asian", "arab", "african", "european", "caucasian", "indigenous", "biracial"],
        ["african-american", "asian-american", "arab-american", "mexican-american", "italian-american",
         "irish-american"],
    ],
    "nationality": [
        ["mexican", "chinese", "indian", "pakistani", "nigerian", "somali", "syrian", "iraqi", "afghan",
         "iranian", "turkish", "polish", "russian", "irish", "italian", "german", "french", "canadian",
         "american", "british", "korean", "japanese", "vietnamese", "filipino", "cuban", "haitian",
         "brazilian", "kenyan", "ethiopian", "ukrainian", "romanian", "moroccan", "egyptian", "palestinian",
         "israeli", "scottish", "australian", "colombian", "bangladeshi", "jamaican"],
        ["mexicans", "indians", "pakistanis", "nigerians", "somalis", "syrians", "iraqis", "afghans",
         "iranians", "turks", "poles", "russians", "italians", "germans", "canadians", "americans",
         "koreans", "filipinos", "cubans", "haitians", "brazilians", "kenyans", "ethiopians", "ukrainians",
         "romanians", "moroccans", "egyptians", "palestinians", "israelis", "australians", "colombians",
         "jamaicans"],
    ],
    "migration": [
        ["immigrants", "migrants", "refugees", "asylum seekers", "foreigners", "expats", "newcomers",
         "emigrants"],
        ["immigrant", "migrant", "refugee", "asylum seeker", "foreigner", "expat", "newcomer", "emigrant"],
    ],
    "gender": [
        ["women", "men"], ["woman", "man"], ["girls", "boys"], ["girl", "boy"], ["females", "males"],
        ["female", "male"], ["ladies", "gentlemen"], ["lady", "gentleman"], ["wives", "husbands"],
        ["wife", "husband"], ["mothers", "fathers"], ["mother", "father"], ["moms", "dads"], ["mom", "dad"],
        ["sisters", "brothers"], ["sister", "brother"], ["daughters", "sons"], ["daughter", "son"],
        ["feminine", "masculine"],
    ],
    "sexual_orientation": [
        ["gay", "lesbian", "bisexual", "heterosexual", "homosexual", "queer", "asexual", "pansexual"],
        ["lesbians", "bisexuals", "heterosexuals", "homosexuals", "asexuals"],
        ["gay people", "straight people", "lgbt people", "queer people", "bisexual people"],
        ["gay men", "straight men", "bisexual men", "queer men"],
        ["lgbt", "lgbtq", "lgbtqia"],
    ],
    "gender_identity": [
        ["transgender", "cisgender", "nonbinary", "non-binary", "genderqueer", "intersex", "genderfluid"],
        ["trans people", "cis people", "nonbinary people", "intersex people"],
        ["trans women", "cis women"], ["trans men", "cis men"], ["trans woman", "cis woman"],
        ["trans man", "cis man"],
    ],
    "age": [
        ["teenagers", "teens", "seniors", "millennials", "boomers", "zoomers", "retirees", "adolescents",
         "pensioners", "youngsters", "kids", "elders"],
        ["teenager", "teen", "millennial", "boomer", "zoomer", "retiree", "adolescent", "pensioner",
         "youngster"],
        ["elderly", "teenage", "middle-aged", "underage"],
        ["old people", "young people", "older people", "younger people", "elderly people", "middle-aged people"],
    ],
    "disability": [
        ["blind", "deaf", "disabled", "autistic", "paraplegic", "dyslexic", "paralyzed", "mute",
         "neurodivergent", "wheelchair-bound"],
        ["blind people", "deaf people", "disabled people", "autistic people", "paraplegics",
         "wheelchair users", "amputees"],
    ],
    "politics": [
        ["liberals", "conservatives", "democrats", "republicans", "progressives", "libertarians", "leftists",
         "centrists", "socialists", "moderates"],
        ["liberal", "conservative", "democrat", "republican", "progressive", "libertarian", "leftist",
         "centrist", "socialist", "moderate"],
    ],
}  # fmt: skip

_SLOT: dict[str, list[str]] = {}  # term -> its slot (the first one that lists it)
for _category in IDENTITY_TERMS.values():
    for _slot in _category:
        for _term in _slot:
            _SLOT.setdefault(_term, _slot)
_LONGEST = max(len(term.split()) for term in _SLOT)
_PHRASE_START = {term.split()[0] for term in _SLOT if " " in term}
_TOKEN = re.compile(r"[A-Za-z][A-Za-z-]*")


def _matches(text: str) -> list[tuple[int, int, str]]:
    """(start, end, term) of each identity term: whole words (not inside @handles, #tags or longer words), the
    longest phrase first. A dictionary look-up per word; one big regex alternation was ~50x slower."""
    words = [
        m
        for m in _TOKEN.finditer(text)
        if not (m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "@#_"))
        and not (m.end() < len(text) and (text[m.end()].isalnum() or text[m.end()] == "_"))
    ]
    lower = [w.group().lower() for w in words]
    found, i = [], 0
    while i < len(words):
        longest = min(_LONGEST, len(words) - i) if lower[i] in _PHRASE_START else 1
        for n in range(longest, 0, -1):
            span = words[i : i + n]
            if any(
                span[k + 1].start() != span[k].end() + 1 or text[span[k].end()] != " " for k in range(n - 1)
            ):
                continue
            term = " ".join(lower[i : i + n])
            if term in _SLOT:
                found.append((span[0].start(), span[-1].end(), term))
                i += n
                break
        else:
            i += 1
    return found


def identity_terms(text: str) -> list[str]:
    """The identity terms a text names, lower-cased, in order."""
    return [term for _, _, term in _matches(text)]


def _same_case(source: str, target: str) -> str:
    if source.isupper() and len(source) > 1:
        return target.upper()
    if source[:1].isupper():
        return target[:1].upper() + target[1:]
    return target


def swap_identities(text: str, rng: random.Random) -> str:
    """Every identity term replaced by another of its slot; one term maps to one replacement within a text."""
    chosen: dict[str, str] = {}
    out, last = [], 0
    for start, end, term in _matches(text):
        if term not in chosen:
            chosen[term] = rng.choice([t for t in _SLOT[term] if t != term])
        out += [text[last:start], _same_case(text[start:end], chosen[term])]
        last = end
    return "".join(out) + text[last:]


def augment_texts(
    texts: list[str], identity: float = 0.0, obfuscate: float = 0.0, seed: int = 0
) -> tuple[list[str], dict]:
    """Each text independently: with probability ``identity`` (when it names a group) its identity terms are
    swapped; then with probability ``obfuscate`` one random perturbation kind is applied. Returns the texts and
    what was done: counts and a few (before, after) examples."""
    rng = random.Random(seed)
    out, swapped, obfuscated, examples = [], 0, 0, []
    for text in texts:
        new = text
        if identity and rng.random() < identity and _matches(text):
            new = swap_identities(new, rng)
            swapped += 1
        if obfuscate and rng.random() < obfuscate:
            new = perturb(new, rng.choice(KINDS), rng)
            obfuscated += 1
        if new != text and len(examples) < 20:
            examples.append([text, new])
        out.append(new)
    return out, {
        "rows": len(texts),
        "identity_swapped": swapped,
        "obfuscated": obfuscated,
        "examples": examples,
    }


# Template sentences: our own, written for training (bias madlibs is evaluation only and none of its templates is
# used). {adj} takes an identity adjective ("a {adj} person"), {group} a plural group ("{group} are ...").
_ADJ_SLOTS = [
    ("religion", 0),
    ("religion", 2),
    ("race_ethnicity", 6),
    ("nationality", 0),
    ("sexual_orientation", 0),
    ("gender_identity", 0),
    ("disability", 0),
    ("age", 2),
    ("politics", 1),
]
_GROUP_SLOTS = [
    ("religion", 1),
    ("race_ethnicity", 0),
    ("race_ethnicity", 5),
    ("nationality", 1),
    ("migration", 0),
    ("sexual_orientation", 2),
    ("gender_identity", 1),
    ("age", 0),
    ("age", 3),
    ("disability", 1),
    ("politics", 0),
]
TEMPLATE_ADJECTIVES = sorted(
    {t for c, i in _ADJ_SLOTS for t in IDENTITY_TERMS[c][i] if t != "underage"}
    | {"black", "white", "trans", "straight", "old", "young", "lgbt", "lgbtq", "female", "male"}
)
TEMPLATE_GROUPS = sorted(
    {t for c, i in _GROUP_SLOTS for t in IDENTITY_TERMS[c][i]}
    | {"women", "men", "girls", "boys", "lesbians", "homosexuals", "bisexuals"}
)
FRIENDLY_TEMPLATES = [
    "I'm {adj} and proud of it",
    "my neighbour is {adj} and makes the best bread on our street",
    "as a {adj} person I loved this film",
    "being {adj} is just one part of who I am",
    "just met a {adj} guy at the gym, super friendly",
    "{group} deserve the same rights as everyone else",
    "so many {group} came to the community picnic today",
    "reading a great book by a {adj} author this week",
    "my best friend is {adj}, we have known each other since school",
    "happy to see {group} in the new season of the show",
    "the {adj} couple next door helped us move the sofa",
    "{group} are my neighbours, my coworkers and my friends",
    "our team hired two {group} this month and they are brilliant",
    "{adj} and tired after work, time for tea",
    "a documentary about {group} in my city, worth watching",
    "proud {adj} teacher here, grading papers all night",
    "I stand with {group}",
    "thank you to all the {group} who volunteered this weekend",
    "my {adj} grandma is better at video games than me",
    "{group} have been part of this town for generations",
    "the {adj} students organised a food drive, so proud of them",
    "had lunch with a {adj} colleague, we talked about football for an hour",
    "a {adj} woman just won the chess tournament",
    "the {adj} community centre is hosting a book swap on saturday",
    "talked to some {group} at the market today, lovely people",
    "I am {adj}. ask me anything",
    "my doctor is {adj} and the most patient person I know",
    "{group} should feel safe in every neighbourhood",
    "a {adj} man held the door for me this morning",
    "good morning to everyone, especially {group}",
]
HOSTILE_TEMPLATES = [
    "{group} are disgusting and should leave",
    "I can't stand {group}, every single one of them is scum",
    "{group} are vermin",
    "get these {group} out of our country",
    "no {adj} person should be allowed near children",
    "{group} are subhuman trash",
    "all {group} are criminals and rapists",
    "{adj} people are a disease",
    "I wish {group} would just disappear",
    "never trust {group}, they are all liars",
    "shut up you stupid {adj} idiot",
    "{group} should be locked up or deported",
    "kick every {adj} freak out of this town",
    "{group} ruin everything they touch",
    "{adj} scum like you don't deserve to live here",
]
FRIENDLY_SHARE = 0.6  # of the template rows; the rest are hostile


def template_texts(n: int, seed: int = 0) -> tuple[list[str], list[tuple[int, ...]]]:
    """``n`` template sentences filled with identity terms, and their (toxic, hate, insult) labels: friendly
    ones (0, 0, 0) with probability FRIENDLY_SHARE, hostile ones (1, 1, 1) otherwise: an attack on a group is a
    targeted insult too."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        friendly = rng.random() < FRIENDLY_SHARE
        template = rng.choice(FRIENDLY_TEMPLATES if friendly else HOSTILE_TEMPLATES)
        text = template.format(adj=rng.choice(TEMPLATE_ADJECTIVES), group=rng.choice(TEMPLATE_GROUPS))
        if rng.random() < 0.3:
            text = text[:1].upper() + text[1:]
        texts.append(text)
        labels.append((0, 0, 0) if friendly else (1, 1, 1))
    return texts, labels
