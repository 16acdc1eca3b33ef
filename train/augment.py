"""Training-text augmentations, drawn afresh every epoch from the original texts (labels never change):

- counterfactual identity swaps (``--augment-identity P``): a text that names an identity group has every such
  term replaced by another term of the same category and grammatical form ("muslims" -> "buddhists",
  "women" -> "men"), so that naming a group stops being a toxic signal by itself;
- obfuscation (``--augment-obfuscate P``): one :mod:`toxic.perturb` kind drawn at random (leetspeak, typos, spaced
  letters, emoji, ...), so that spelling tricks stop hiding toxicity.

The word lists below are our own, written for training, and deliberately broader than any evaluation set's
(bias madlibs is evaluation only: its terms list in ``toxic/evaluate.py`` is not used here). Ambiguous words are
left out or only matched in a phrase ("black people", not "black"; "old people", not "old"). Slurs are not
identity terms: a slur stays, because it is a real toxic signal. Pure Python: no torch, testable anywhere.
"""

from __future__ import annotations

import random
import re

from toxic.perturb import KINDS, perturb

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
