"""Word lists and the sentence grammar of the synthetic corpus (see make_synthetic_corpus.py).

Lists run roughly from common to rare; words are drawn with weights falling as 1 / (rank + 8), so that frequent
words repeat (as in real text) and a word n-gram model has something to learn. Every word is lower case, letters
and apostrophes only (the DeepSpeech alphabet).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

# (singular, plural)
PEOPLE = [tuple(p.split()) for p in """
man men|woman women|boy boys|girl girls|child children|friend friends|teacher teachers|doctor doctors|
mother mothers|father fathers|sister sisters|brother brothers|farmer farmers|driver drivers|student students|
baby babies|king kings|queen queens|neighbor neighbors|stranger strangers|soldier soldiers|captain captains|
sailor sailors|nurse nurses|cook cooks|baker bakers|writer writers|painter painters|singer singers|
player players|worker workers|guest guests|officer officers|pilot pilots|lawyer lawyers|judge judges|
waiter waiters|hunter hunters|fisherman fishermen|miner miners|clerk clerks|guard guards|prince princes|
princess princesses|lady ladies|gentleman gentlemen|grandmother grandmothers|grandfather grandfathers|
daughter daughters|son sons
""".replace("\n", "").split("|")]

ANIMALS = [tuple(p.split()) for p in """
dog dogs|cat cats|horse horses|bird birds|cow cows|sheep sheep|pig pigs|mouse mice|rabbit rabbits|fox foxes|
duck ducks|goat goats|wolf wolves|bear bears|lion lions|monkey monkeys|frog frogs|owl owls|chicken chickens|
puppy puppies|kitten kittens|elephant elephants|tiger tigers|snake snakes|deer deer|bee bees|whale whales|
crow crows|goose geese|donkey donkeys|squirrel squirrels|turtle turtles|parrot parrots|camel camels
""".replace("\n", "").split("|")]

THINGS = [tuple(p.split()) for p in """
book books|box boxes|letter letters|cup cups|bag bags|hat hats|key keys|ball balls|car cars|chair chairs|
table tables|door doors|window windows|picture pictures|bottle bottles|coat coats|shoe shoes|map maps|
boat boats|bike bikes|plate plates|lamp lamps|clock clocks|phone phones|pen pens|pencil pencils|
basket baskets|bucket buckets|blanket blankets|candle candles|coin coins|ring rings|watch watches|
knife knives|fork forks|spoon spoons|bowl bowls|glass glasses|stone stones|stick sticks|rope ropes|
flower flowers|apple apples|orange oranges|egg eggs|cake cakes|cookie cookies|sandwich sandwiches|
shirt shirts|dress dresses|sock socks|toy toys|drum drums|guitar guitars|ticket tickets|gift gifts|card cards|
note notes|photo photos|kite kites|wheel wheels|hammer hammers|brush brushes|mirror mirrors|pillow pillows|
towel towels|umbrella umbrellas|jacket jackets|wallet wallets|package packages|radio radios|
computer computers|camera cameras|song songs|story stories|newspaper newspapers|message messages|
ladder ladders|fence fences|gate gates|pot pots|pan pans|jar jars|seed seeds|shell shells|feather feathers|
bell bells|flag flags|tent tents|net nets|tool tools|nail nails|button buttons|needle needles|lock locks|
potato potatoes|tomato tomatoes|carrot carrots|onion onions|lemon lemons
""".replace("\n", "").split("|")]

MASS = """bread milk water tea coffee soup rice cheese butter sugar salt meat fruit juice honey wood money music food
sand snow ice oil corn grass hay flour jam chocolate paper cream pepper soap medicine homework news furniture
luggage clothing wool""".split()

PLACES = """house garden kitchen school park river forest market station village city church library shop office farm
field hill lake beach road street bridge room hall yard barn castle island mountain valley harbor hospital
hotel bank museum tower cave shore stable corner bakery theater factory cottage palace meadow orchard pond
harbour""".split()

# (base, past, third person)
TRANSITIVE = [tuple(v.split()) for v in """
see saw sees|find found finds|take took takes|give gave gives|bring brought brings|carry carried carries|
open opened opens|close closed closes|hold held holds|read read reads|write wrote writes|paint painted paints|
wash washed washes|clean cleaned cleans|cook cooked cooks|eat ate eats|drink drank drinks|buy bought buys|
sell sold sells|make made makes|build built builds|break broke breaks|fix fixed fixes|watch watched watches|
follow followed follows|catch caught catches|throw threw throws|drop dropped drops|pull pulled pulls|
push pushed pushes|lift lifted lifts|hide hid hides|lose lost loses|keep kept keeps|leave left leaves|
send sent sends|show showed shows|want wanted wants|need needed needs|like liked likes|love loved loves|
help helped helps|call called calls|meet met meets|visit visited visits|feed fed feeds|cut cut cuts|
fill filled fills|count counted counts|move moved moves|draw drew draws|hear heard hears|
remember remembered remembers|forget forgot forgets|teach taught teaches|ask asked asks|pack packed packs|
check checked checks|kick kicked kicks|wear wore wears|borrow borrowed borrows|pick picked picks|
plant planted plants|drive drove drives|ride rode rides|chase chased chases|save saved saves|
share shared shares|lend lent lends|order ordered orders|finish finished finishes|bake baked bakes|
boil boiled boils|fold folded folds|tie tied ties|mend mended mends|touch touched touches|taste tasted tastes|
study studied studies|choose chose chooses
""".replace("\n", "").split("|")]

INTRANSITIVE = [tuple(v.split()) for v in """
walk walked walks|run ran runs|sleep slept sleeps|sing sang sings|dance danced dances|laugh laughed laughs|
cry cried cries|sit sat sits|stand stood stands|wait waited waits|swim swam swims|jump jumped jumps|
fly flew flies|fall fell falls|smile smiled smiles|shout shouted shouts|rest rested rests|
arrive arrived arrives|stay stayed stays|work worked works|travel traveled travels|return returned returns|
listen listened listens|talk talked talks|hurry hurried hurries|wake woke wakes|sail sailed sails|
come came comes|go went goes|live lived lives|whisper whispered whispers|wander wandered wanders|
shiver shivered shivers|cough coughed coughs|dream dreamed dreams|pray prayed prays|march marched marches|
crawl crawled crawls|float floated floats|play played plays|hide hid hides|climb climbed climbs|
cook cooked cooks|read read reads|write wrote writes
""".replace("\n", "").split("|")]

ADJECTIVES = """big small old young new good little happy long red blue green white black tall short warm cold dark bright
quiet loud soft hard heavy fast slow rich poor kind brave strong busy clever funny strange pretty empty full
sweet fresh round flat deep wide thin thick sharp broken golden wooden large tiny huge early late quick
careful gentle angry tired hungry thirsty sleepy lucky proud calm wild wise friendly lonely famous simple
smooth rough bitter shiny dusty rusty cheap yellow brown gray pink purple hot cool wet dry clean""".split()

ADVERBS = """quickly slowly quietly loudly carefully gently happily sadly softly again together alone outside
inside away home suddenly finally early""".split()

TIMES = ["today", "yesterday", "tomorrow", "tonight", "this morning", "last night", "every day", "in the evening",
         "on monday", "on tuesday", "on wednesday", "on thursday", "on friday", "on saturday", "on sunday",
         "next week", "last year", "at noon", "at midnight", "after lunch", "before dinner", "in the spring",
         "in the summer", "in the autumn", "in the winter", "once again", "all day", "at dawn"]

NAMES = """john mary peter anna tom lucy james emma david sarah paul kate george alice henry rose jack ellen
robert grace william helen charles laura frank nora harry jane arthur clara edward susan walter ruth martin
julia simon betty daniel molly""".split()

NUMBERS = "two three four five six seven eight nine ten eleven twelve twenty".split()

SUBJECT_PRONOUNS = {"i": "base", "you": "base", "he": "third", "she": "third", "we": "base", "they": "base"}
OBJECT_PRONOUNS = "me you him her us them it".split()
DETERMINERS = "the the the a my your his her our their this that".split()
PLURAL_DETERMINERS = "the the some many these those my our their".split()
PLACE_PREPOSITIONS = "in to near behind into from across past around by inside outside".split()
THING_PREPOSITIONS = "on under near behind beside in inside".split()
INTENSIFIERS = ["very", "too", "quite", "so", "really"]

Words = list[str]


class Grammar:
    """Draws English-like sentences (4 to 12 words, lower case) from the lists above with a numpy Generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    # ------------------------------------------------------------------ drawing
    def pick(self, items: Sequence[object]) -> object:
        weights = 1.0 / (np.arange(len(items)) + 8.0)
        return items[int(self.rng.choice(len(items), p=weights / weights.sum()))]

    def noun(self, table: Sequence[tuple[str, ...]]) -> tuple[str, str]:
        """(singular, plural) of a noun table."""
        entry = self.pick(table)
        assert isinstance(entry, tuple)
        return entry[0], entry[1]

    def word(self, items: Sequence[str]) -> str:
        return str(self.pick(items))

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    # ------------------------------------------------------------------ phrases
    def article(self, words: Words) -> Words:
        determiner = self.word(DETERMINERS)
        if determiner == "a" and words[0][0] in "aeiou":
            determiner = "an"
        return [determiner, *words]

    def adjectives(self, noun: str) -> Words:
        return [self.word(ADJECTIVES), noun] if self.chance(0.45) else [noun]

    def subject(self) -> tuple[Words, str]:
        """Words and agreement (``base`` or ``third`` person, for present tense and was/were)."""
        roll = self.rng.random()
        if roll < 0.2:
            pronoun = self.word(list(SUBJECT_PRONOUNS))
            return [pronoun], SUBJECT_PRONOUNS[pronoun]
        if roll < 0.35:
            return [self.word(NAMES)], "third"
        singular, plural = self.noun(PEOPLE if self.chance(0.65) else ANIMALS)
        if self.chance(0.2):
            return ["the", *self.adjectives(plural)], "base"
        return self.article(self.adjectives(singular)), "third"

    def obj(self) -> Words:
        roll = self.rng.random()
        if roll < 0.1:
            return [self.word(OBJECT_PRONOUNS)]
        if roll < 0.18:
            return [self.word(NAMES)]
        if roll < 0.3:
            return ["some", self.word(MASS)] if self.chance(0.5) else ["the", self.word(MASS)]
        singular, plural = self.noun(THINGS)
        if self.chance(0.2):
            return [self.word(PLURAL_DETERMINERS), *self.adjectives(plural)]
        return self.article(self.adjectives(singular))

    def place(self) -> Words:
        owner = "the" if self.chance(0.7) else self.word(["my", "our", "their", "his", "her"])
        return [self.word(PLACE_PREPOSITIONS), owner, *self.adjectives(self.word(PLACES))]

    def time(self) -> Words:
        return self.word(TIMES).split()

    def maybe(self, p: float, phrase: Callable[[], Words]) -> Words:
        return phrase() if self.chance(p) else []

    def verb(self, table: Sequence[tuple[str, ...]], form: int) -> str:
        entry = self.pick(table)
        assert isinstance(entry, tuple)
        return str(entry[form])

    # ------------------------------------------------------------------ sentences
    def sentence(self) -> Words:
        """One sentence of 4..12 words."""
        while True:
            template = TEMPLATES[int(self.rng.integers(len(TEMPLATES)))]
            words = [w for part in template(self) for w in part.split()]
            if 4 <= len(words) <= 12:
                return words


def _be(agreement: str, words: Words) -> str:
    if words == ["i"]:
        return "was"
    return "was" if agreement == "third" else "were"


def _past_object(g: Grammar) -> Words:
    subject, _ = g.subject()
    return [*subject, g.verb(TRANSITIVE, 1), *g.obj(), *g.maybe(0.3, g.place), *g.maybe(0.2, g.time)]


def _past_motion(g: Grammar) -> Words:
    subject, _ = g.subject()
    return [*subject, g.verb(INTRANSITIVE, 1), *g.maybe(0.6, g.place), *g.maybe(0.3, g.time),
            *g.maybe(0.2, lambda: [g.word(ADVERBS)])]


def _future(g: Grammar) -> Words:
    subject, _ = g.subject()
    modal = g.word(["will", "will", "can", "could", "should", "must", "might", "would"])
    return [*subject, modal, g.verb(TRANSITIVE, 0), *g.obj(), *g.maybe(0.5, g.time)]


def _question(g: Grammar) -> Words:
    subject, _ = g.subject()
    return [g.word(["did", "did", "will", "can"]), *subject, g.verb(TRANSITIVE, 0), *g.obj(), *g.maybe(0.3, g.place)]


def _description(g: Grammar) -> Words:
    subject, agreement = g.subject()
    return [*subject, _be(agreement, subject), *g.maybe(0.4, lambda: [g.word(INTENSIFIERS)]), g.word(ADJECTIVES),
            *g.maybe(0.3, g.time)]


def _there_was(g: Grammar) -> Words:
    singular, _ = g.noun(THINGS)
    words = g.adjectives(singular)
    return ["there", "was", "an" if words[0][0] in "aeiou" else "a", *words, g.word(THING_PREPOSITIONS), "the",
            g.word(PLACES if g.chance(0.5) else [t[0] for t in THINGS])]


def _two_actions(g: Grammar) -> Words:
    subject, _ = g.subject()
    return [*subject, g.verb(TRANSITIVE, 1), *g.obj(), "and", g.verb(TRANSITIVE, 1), *g.obj()]


def _reported(g: Grammar) -> Words:
    speaker, _ = g.subject()
    other, _ = g.subject()
    return [*speaker, g.word(["said", "knew", "thought", "heard"]), "that", *other, g.verb(INTRANSITIVE, 1),
            *g.maybe(0.5, g.place)]


def _pair(g: Grammar) -> Words:
    return [g.word(NAMES), "and", g.word(NAMES), g.verb(INTRANSITIVE, 1), *g.place(), *g.maybe(0.4, g.time)]


def _habit(g: Grammar) -> Words:
    subject, agreement = g.subject()
    form = 2 if agreement == "third" else 0
    return [*subject, g.verb(TRANSITIVE, form), *g.obj(), g.word(["every day", "every morning", "on sundays",
                                                                  "at night", "after school", "every week"])]


def _wanted(g: Grammar) -> Words:
    subject, _ = g.subject()
    return [*subject, g.word(["wanted", "tried", "forgot", "needed", "decided", "hoped"]), "to",
            g.verb(TRANSITIVE, 0), *g.obj()]


def _counted(g: Grammar) -> Words:
    subject, _ = g.subject()
    _, plural = g.noun(THINGS)
    return [*subject, g.verb(TRANSITIVE, 1), g.word(NUMBERS), *g.adjectives(plural), *g.maybe(0.3, g.place)]


def _request(g: Grammar) -> Words:
    return [g.word(["please", "please", "now", "quickly"]), g.verb(TRANSITIVE, 0), *g.obj(),
            *g.maybe(0.6, g.place)]


def _where(g: Grammar) -> Words:
    if g.chance(0.5):
        singular, _ = g.noun(THINGS)
        return ["where", "is", "the", *g.adjectives(singular), *g.maybe(0.5, g.time)]
    subject, _ = g.subject()
    return [g.word(["where", "when", "why", "how"]), "did", *subject, g.verb(TRANSITIVE, 0), *g.obj()]


def _because(g: Grammar) -> Words:
    subject, agreement = g.subject()
    return [*subject, g.word(["could not", "did not", "didn't", "couldn't", "would not"]), g.verb(TRANSITIVE, 0),
            *g.obj(), "because", g.word(["it", "he", "she"]), g.word(["was", "wasn't"]), g.word(ADJECTIVES)]


def _when(g: Grammar) -> Words:
    first, _ = g.subject()
    second, _ = g.subject()
    return [g.word(["when", "after", "before", "while"]), *first, g.verb(INTRANSITIVE, 1), *second,
            g.verb(TRANSITIVE, 1), *g.obj()]


def _time_first(g: Grammar) -> Words:
    subject, _ = g.subject()
    return [*g.time(), *subject, g.verb(INTRANSITIVE, 1), g.word(ADVERBS)]


def _contraction(g: Grammar) -> Words:
    return [g.word(["it's", "that's", "there's", "it's"]), g.word(["a", "the"]), *g.adjectives(g.word(PLACES)),
            *g.maybe(0.5, lambda: ["for", *g.obj()])]


def _do_not(g: Grammar) -> Words:
    subject, agreement = g.subject()
    negation = "doesn't" if agreement == "third" else "don't"
    return [*subject, negation, g.word(["like", "want", "need", "have", "see"]), *g.obj(), *g.maybe(0.3, g.time)]


TEMPLATES: tuple[Callable[[Grammar], Words], ...] = (
    _past_object, _past_object, _past_motion, _past_motion, _future, _question, _description, _there_was,
    _two_actions, _reported, _pair, _habit, _wanted, _counted, _request, _where, _because, _when, _time_first,
    _contraction, _do_not,
)


def vocabulary() -> list[str]:
    """Every word the grammar can produce, sorted."""
    words: set[str] = set()
    for table in (PEOPLE, ANIMALS, THINGS, TRANSITIVE, INTRANSITIVE):
        for entry in table:
            words.update(entry)
    for group in (MASS, PLACES, ADJECTIVES, ADVERBS, NAMES, NUMBERS, list(SUBJECT_PRONOUNS), OBJECT_PRONOUNS,
                  DETERMINERS, PLURAL_DETERMINERS, PLACE_PREPOSITIONS, THING_PREPOSITIONS, INTENSIFIERS):
        words.update(group)
    for phrase in TIMES:
        words.update(phrase.split())
    words.update("an the some there was were is and that to because it he she when after before while where why how "
                 "did will can could should must might would not couldn't didn't wasn't it's that's there's "
                 "don't doesn't like want need have see for said knew thought heard please now quickly every "
                 "morning on sundays at night school week wanted tried forgot needed decided hoped".split())
    return sorted(words)
