"""Benchmark for the issue "National catalogue": search latency at national scale.

Run it through bench/run_search, which prepares the environment and the
dedicated benchmark database. It

1. makes sure the catalogue holds at least --titles (default 1,000,000) titles:
   generated rows (source LSBBENCH) that vary the titles, makers and subjects of
   the real MARC records in tests/data/marc (LSB_SHARED_DATA for a larger set) with Dutch word lists, each with
   a valid ISBN-13 (and an EAN for audiovisual material), and a small real
   MARC record as `marc`. Rows go in with COPY, in committed chunks, the search
   indexes dropped first and rebuilt after; a rerun reuses the rows it finds
   (an interrupted load resumes at the first missing chunk);
2. VACUUM ANALYZE;
3. runs --queries queries of each kind through the real selector
   (catalogue.selectors.title_search) and reports p50/p95/max latency and how
   often the title the query was made from is on the first page:
   title words, an author, an ISBN (ISBN-10/13, with and without hyphens),
   a misspelled title, a misspelled author, and title words with filters.

Exits 0 when every p95 is under the target (50 ms), 1 otherwise.
"""

import argparse
import contextlib
import hashlib
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lsb.settings")

import django  # noqa: E402

django.setup()

import pymarc  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from catalogue.models import Title  # noqa: E402
from catalogue.normalise import ean13_check_digit, fold  # noqa: E402
from catalogue.selectors import title_search  # noqa: E402

# The version of the generated data: rows of an earlier generator (another LSBBENCH...
# source) are removed before loading.
SOURCE = "LSBBENCH2"
CHUNK = 50_000
TARGET_P95_MS = 50.0
# The real records the tests use (tests/data/marc); LSB_SHARED_DATA may point at a larger set.
SHARED_DATA = Path(os.environ.get("LSB_SHARED_DATA", REPO / "tests" / "data"))

# --- Word lists ------------------------------------------------------------------------

NOUNS = """
boek huis kat hond zee maan zon ster wind regen sneeuw storm berg rivier bos tuin school stad dorp kasteel
toren brug haven schip trein fiets auto weg straat plein markt winkel kerk molen boerderij veld akker
koning koningin prins prinses ridder draak heks tovenaar reus dwerg elf fee spook monster robot piraat
meisje jongen vader moeder broer zus opa oma oom tante vriend vriendin buurman juf meester dokter
dief detective kapitein soldaat boer visser bakker schilder dichter schrijver zanger danser
oorlog vrede liefde dood leven geheim raadsel droom nacht dag ochtend avond winter zomer lente herfst
reis tocht avontuur ontdekking uitvinding geschiedenis verhaal sprookje legende mythe kroniek dagboek
brief kaart sleutel deur raam spiegel klok lamp kaars vuur water aarde lucht steen goud zilver ijzer
hart hoofd hand oog stem schaduw licht duisternis stilte muziek lied dans feest spel wedstrijd
taal land volk wereld eiland woestijn oerwoud jungle poolcirkel vulkaan grot mijn schat kist kroon
zwaard schild paard vogel uil raaf vos wolf beer leeuw tijger olifant walvis dolfijn vlinder bij mier
appel peer kers boom bloem roos tulp gras blad wortel zaad vrucht brood kaas melk thee koffie soep
tijd ruimte planeet raket heelal machine computer internet code netwerk data wetenschap wiskunde
economie politiek democratie revolutie keizer rijk republiek parlement gemeente provincie polder dijk
""".split()
ADJECTIVES = """
rode blauwe groene gele zwarte witte gouden zilveren grote kleine oude nieuwe jonge lange korte
stille donkere lichte koude warme wilde vrije verloren vergeten geheime laatste eerste verborgen
gevaarlijke vrolijke droevige boze bange dappere slimme domme rare vreemde mooie lelijke sterke
zwakke snelle trage hoge lage diepe ondiepe natte droge bittere zoete verre nabije eeuwige
""".split()
PLACES = """
Amsterdam Rotterdam Utrecht Den-Haag Groningen Maastricht Leiden Delft Haarlem Zwolle Arnhem Nijmegen
Eindhoven Breda Tilburg Middelburg Leeuwarden Assen Lelystad Deventer Zutphen Gouda Alkmaar Hoorn
Texel Vlieland Terschelling Ameland Schiermonnikoog Friesland Zeeland Limburg Brabant Drenthe Twente
Parijs Londen Berlijn Rome Madrid Lissabon Wenen Praag Boedapest Athene Istanbul Caïro Marrakech
""".split()
FIRST_NAMES = """
Jan Piet Klaas Kees Henk Johan Willem Hendrik Pieter Cornelis Gerrit Jacob Dirk Maarten Thijs Bram
Sem Daan Lucas Milan Levi Finn Noah Luuk Jesse Ruben Stijn Tim Bas Ruud Wouter Jeroen Sander Joost
Anna Maria Johanna Cornelia Elisabeth Geertje Grietje Saskia Annemiek Femke Ilse Marieke Lotte Sanne
Emma Julia Sophie Tess Zoë Lieke Fenna Noor Evi Mila Isa Nina Roos Fleur Lisa Eva Sara Hanna
Herman Harry Gerard Simon Annie Tonke Paul Thea Guus Hella Renate Connie Arnon Adriaan Hella
Multatuli Joke Francine Toon Godfried Willem-Frederik Theo Bertus Karel Jozef Jules Ludwig Remco
""".split()
SURNAMES = """
Jansen Janssen Visser Smit Meijer Mulder Bos Vos Peters Hendriks Dekker Brouwer Dijkstra Kok Jacobs
Vermeulen Willems Bakker Hoekstra Koster Prins Huisman Kuipers Schouten Postma Wolters Kramer Veenstra
Bosman Groen Hermans Verhoeven Maas Kuiper Timmermans Sanders Verbeek Schipper Gerritsen Hoek Brink
Mulisch Reve Hermans Wolkers Haasse Palmen Nooteboom Claus Boon Vestdijk Couperus Multatuli Bordewijk
Schmidt Kromhout Biegel Dragt Terlouw Kuijer Westera Rowling Tolkien Lewis Dahl Lindgren Blyton Kinney
Grunberg Giphart Japin Enquist Koch Springer Pfeijffer Rijneveld Lanoye Verhulst Brusselmans Mortier
Hemingway Austen Dickens Tolstoj Dostojevski Kafka Camus Sartre Proust Woolf Orwell Huxley Atwood
Murakami Ishiguro Rushdie Eco Calvino Borges Marquez Allende Llosa Coetzee Gordimer Achebe Morrison
""".split()
PREFIXES = ["", "", "", "", "van ", "de ", "van der ", "van den ", "ter ", "van de "]
SUBJECTS = """
Romans|Jeugdboeken|Prentenboeken|Detectives|Thrillers|Fantasy|Sciencefiction|Poëzie|Geschiedenis|
Tweede Wereldoorlog|Nederlandse geschiedenis|Biografieën|Kookboeken|Tuinieren|Reizen|Sport|Voetbal|
Muziek|Kunst|Schilderkunst|Architectuur|Filosofie|Psychologie|Opvoeding|Gezondheid|Natuur|Dieren|
Vogels|Sterrenkunde|Wiskunde|Natuurkunde|Scheikunde|Biologie|Informatica|Programmeren|Economie|
Politiek|Recht|Religie|Taal|Woordenboeken|Strips|Graphic novels|Humor|Oorlog|Liefde|Familie|
Vriendschap|School|Pesten|Rouw|Migratie|Klimaat|Duurzaamheid|Techniek|Scheepvaart|Landbouw
""".replace("\n", "").split("|")
PUBLISHERS = ["De Bezige Bij", "Querido", "Prometheus", "Atlas Contact", "Lemniscaat", "Ploegsma", "Luitingh-Sijthoff",
              "Meulenhoff", "Nijgh & Van Ditmar", "Van Holkema & Warendorf", "Zwijsen", "Leopold", "Singel Uitgeverijen"]
SERIES = ["Grote Lijsters", "Salamander", "Ooievaar", "Zwarte Beertjes", "Leesleeuw", "Kinderboekenweek",
          "Wereldbibliotheek", "Privé-domein", "Boekenweekgeschenk", "Vlaamse Filmpjes", "Dolfje Weerwolfje",
          "Geronimo Stilton", "Het leven van een loser", "Harry Potter", "Baantjer", "Bommel"]
# Well-known titles, so some queries read like real ones.
CLASSICS = [
    ("Harry Potter en de steen der wijzen", "Rowling, J.K."), ("Harry Potter en de geheime kamer", "Rowling, J.K."),
    ("Harry Potter en de gevangene van Azkaban", "Rowling, J.K."), ("In de ban van de ring", "Tolkien, J.R.R."),
    ("De hobbit", "Tolkien, J.R.R."), ("De ontdekking van de hemel", "Mulisch, Harry"),
    ("De aanslag", "Mulisch, Harry"), ("De avonden", "Reve, Gerard"), ("Max Havelaar", "Multatuli"),
    ("De donkere kamer van Damokles", "Hermans, Willem Frederik"), ("Turks fruit", "Wolkers, Jan"),
    ("Het diner", "Koch, Herman"), ("Tirza", "Grunberg, Arnon"), ("Het achterhuis", "Frank, Anne"),
    ("De brief voor de koning", "Dragt, Tonke"), ("Pluk van de Petteflet", "Schmidt, Annie M.G."),
    ("Jip en Janneke", "Schmidt, Annie M.G."), ("Oorlogswinter", "Terlouw, Jan"), ("Koning van Katoren", "Terlouw, Jan"),
    ("Het verdriet van België", "Claus, Hugo"), ("Hersenschimmen", "Bernlef, J."), ("Het bittere kruid", "Minco, Marga"),
    ("Nooit meer slapen", "Hermans, Willem Frederik"), ("Kruistocht in spijkerbroek", "Beckman, Thea"),
]
LANGUAGES = [("dut", 84), ("eng", 10), ("ger", 2), ("fre", 2), ("spa", 1), ("tur", 1)]
MATERIAL_TYPES = [("book", 70), ("large_print", 5), ("audiobook", 6), ("dvd", 6), ("music_cd", 4), ("game", 2),
                  ("magazine", 3), ("sheet_music", 1), ("electronic", 2), ("other", 1)]
AUDIENCES = [("adult", 62), ("youth", 33), ("unknown", 5)]
WITH_EAN = {"dvd", "music_cd", "game"}


def isbn13(number):
    first12 = f"97890{number:07d}"
    return first12 + ean13_check_digit(first12)


def isbn10(number):
    first9 = f"90{number:07d}"
    check = (11 - sum((10 - index) * int(char) for index, char in enumerate(first9)) % 11) % 11
    return first9 + ("X" if check == 10 else str(check))


def ean13(number):
    first12 = f"871{number:09d}"
    return first12 + ean13_check_digit(first12)


def real_records():
    """Titles, makers and subjects of the real MARC records (any encoding)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return _real_records()


def _real_records():
    records = []
    for path in sorted((SHARED_DATA / "marc").glob("*.dat")):
        with path.open("rb") as handle:
            reader = pymarc.MARCReader(handle, to_unicode=True, force_utf8=False, utf8_handling="replace")
            for record in reader:
                if record is None or not record.title:
                    continue
                title = record.title.rstrip(" /:;.").split(" : ")[0]
                records.append((title, record.author.rstrip(" ,.") if record.author else "",
                                [subject.value().rstrip(".") for subject in record.subjects]))
    return records


def sample_marc():
    with (SHARED_DATA / "marc" / "one.dat").open("rb") as handle:
        return handle.read()


# Syllables for the long tail of the vocabulary: pronounceable Dutch-looking words
# ('verkamling', 'boszeter'), as most words of a real catalogue are rare ones.
ONSETS = ["b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "dr", "gr", "kl",
          "kr", "pl", "sch", "sl", "sp", "st", "str", "tr", "vl", "zw", "ge", "be", "ver", "ont"]
NUCLEI = ["a", "e", "i", "o", "u", "aa", "ee", "oo", "ie", "oe", "ij", "ei", "ui", "au", "ou", "eu"]
CODAS = ["", "", "k", "l", "m", "n", "r", "s", "t", "nd", "ng", "rk", "lt", "st", "cht", "rd", "ns"]
ENDINGS = ["", "", "", "en", "er", "ing", "heid", "je", "te", "el", "aar", "ster", "schap"]


def zipf_weights(count, offset):
    """Cumulative Zipf-Mandelbrot weights 1 / (rank + offset) for random.choices: the
    offset flattens the head, so the most frequent word is common, not half of all titles."""
    cumulative, total = [], 0.0
    for rank in range(count):
        total += 1.0 / (rank + 1 + offset)
        cumulative.append(total)
    return cumulative


class Generator:
    """Deterministic rows: chunk k always gives the same titles.

    Like a real national catalogue: mostly distinct titles of one to four content
    words drawn with Zipf-like frequencies from a vocabulary of ~170,000 words
    (the base nouns are the most frequent, each in roughly 0.3-1 % of the titles;
    most words are rare), 300,000 makers with a long tail, famous titles and the
    real MARC titles only as often as a few dozen editions each, and 2,000 series."""

    def __init__(self):
        self.real = real_records()
        self.marc = sample_marc()
        self.checksum = hashlib.sha1(self.marc).hexdigest()
        rng = random.Random(1)
        compounds = sorted({a + b for a in NOUNS for b in NOUNS if a != b})
        rng.shuffle(compounds)
        invented = set()
        while len(invented) < 110_000:
            word = "".join(rng.choice(ONSETS) + rng.choice(NUCLEI) + rng.choice(CODAS)
                           for _ in range(rng.choice((1, 2, 2, 3)))) + rng.choice(ENDINGS)
            if 4 <= len(word) <= 16:
                invented.add(word)
        tail = compounds + sorted(invented - set(compounds) - set(NOUNS))
        rng.shuffle(tail)
        nouns = list(NOUNS)
        rng.shuffle(nouns)
        # Base nouns first (the head of the distribution), then the long tail.
        self.vocabulary = nouns + tail
        self.vocabulary_weights = zipf_weights(len(self.vocabulary), 40)
        self.adjective_weights = zipf_weights(len(ADJECTIVES), 6)
        surnames = SURNAMES + [noun.capitalize() + suffix for noun in NOUNS
                               for suffix in ("ma", "stra", "inga", "sen", "man", "er", "s", "hof", "kamp", "veld",
                                              "berg", "dijk")]
        self.makers = [f"{rng.choice(PREFIXES)}{rng.choice(surnames)}, {rng.choice(FIRST_NAMES)}"
                       for _ in range(300_000)]
        # The most prolific maker has ~1,000 titles, most have one to three.
        self.maker_weights = zipf_weights(len(self.makers), 100)
        self.series = SERIES + [f"{rng.choice(nouns).capitalize()}reeks" if index % 2 else
                                f"De {rng.choice(ADJECTIVES)} {rng.choice(tail)}" for index in range(2000)]
        self.series_weights = zipf_weights(len(self.series), 20)

    @staticmethod
    def _weighted(rng, pairs):
        return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]

    def _noun(self, rng):
        return rng.choices(self.vocabulary, cum_weights=self.vocabulary_weights)[0]

    def _adjective(self, rng):
        return rng.choices(ADJECTIVES, cum_weights=self.adjective_weights)[0]

    def _person(self, rng):
        return rng.choices(self.makers, cum_weights=self.maker_weights)[0]

    def _title(self, rng):
        noun, adjective = self._noun, self._adjective
        pattern = rng.randrange(10)
        if pattern == 0:
            return f"De {adjective(rng)} {noun(rng)}"
        if pattern == 1:
            return f"Het {noun(rng)} van {rng.choice(PLACES).replace('-', ' ')}"
        if pattern == 2:
            return f"{rng.choice(FIRST_NAMES)} en de {noun(rng)}"
        if pattern == 3:
            return noun(rng).capitalize()
        if pattern == 4:
            return f"{noun(rng).capitalize()} en {noun(rng)}"
        if pattern == 5:
            return f"Een {adjective(rng)} {noun(rng)} in {rng.choice(PLACES).replace('-', ' ')}"
        if pattern == 6:
            return f"De {noun(rng)} van de {noun(rng)}"
        if pattern == 7:
            return f"{noun(rng).capitalize()}, {noun(rng)} en {noun(rng)}"
        if pattern == 8:
            return f"{noun(rng).capitalize()}: {adjective(rng)} {noun(rng)}"
        return f"{adjective(rng).capitalize()} {noun(rng)}"

    def rows(self, chunk):
        rng = random.Random(chunk * 7919 + 17)
        for number in range(chunk * CHUNK, (chunk + 1) * CHUNK):
            kind = rng.random()
            if kind < 0.002:
                # 24 famous titles, ~80 editions each over a million titles.
                title, author = rng.choice(CLASSICS)
                subjects = rng.sample(SUBJECTS, 2)
            elif kind < 0.005:
                title, author, subjects = rng.choice(self.real)
                author = author or self._person(rng)
            else:
                title = self._title(rng)
                author = self._person(rng)
                subjects = rng.sample(SUBJECTS, rng.randint(1, 3))
            makers = [author] + ([self._person(rng)] if rng.random() < 0.15 else [])
            material_type = self._weighted(rng, MATERIAL_TYPES)
            subtitle = rng.choice(["", "", "", "", "", "roman", f"een verhaal over {self._noun(rng)}",
                                   f"{self._adjective(rng)} verhalen"])
            series = rng.choices(self.series, cum_weights=self.series_weights)[0] if rng.random() < 0.06 else ""
            contributors_text = " ; ".join(makers)
            yield (
                SOURCE, f"B{number:08d}", self.marc, self.checksum, title, subtitle, "",
                Jsonb([{"name": name, "role": "auteur"} for name in makers]), contributors_text,
                [isbn13(number)], [], [ean13(number)] if material_type in WITH_EAN else [],
                rng.choice(PUBLISHERS), min(2025, 1950 + int(76 * rng.random() ** 0.5)), "", series,
                self._weighted(rng, LANGUAGES), material_type, self._weighted(rng, AUDIENCES), subjects,
                " ; ".join(subjects), fold(title), fold(contributors_text),
                # The search columns catalogue.normalise.search_columns makes (vernacular title: none).
                fold(" ; ".join(subjects)), fold(" ".join(part for part in (subtitle, series) if part)), "",
            )


COLUMNS = (
    "source, control_number, marc, marc_checksum, title, subtitle, responsibility, contributors, contributors_text, "
    "isbns, issns, eans, publisher, year, edition, series, language, material_type, audience, subjects, "
    "subjects_text, title_folded, contributors_folded, subjects_folded, subtitle_series_folded, vernacular_title, "
    "created_at, updated_at"
)


def say(message=""):
    print(message, flush=True)


def existing_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'catalogue_title'")
        return {row[0] for row in cursor.fetchall()}


def remove_stale():
    """Remove the rows of an earlier version of the generator (and, when the catalogue
    held nothing else, the typo dictionary built from them)."""
    stale = Title.objects.filter(source__startswith="LSBBENCH").exclude(source=SOURCE)
    if not stale.exists():
        return
    with connection.cursor() as cursor:
        if not Title.objects.exclude(source__startswith="LSBBENCH").exists():
            say("   removing the titles of an earlier benchmark generator (TRUNCATE)")
            cursor.execute("TRUNCATE catalogue_title, catalogue_searchword CASCADE")
        else:
            say("   removing the titles of an earlier benchmark generator (DELETE)")
            cursor.execute("DELETE FROM catalogue_holding WHERE title_id IN "
                           "(SELECT id FROM catalogue_title WHERE source LIKE 'LSBBENCH%%' AND source <> %s)", [SOURCE])
            cursor.execute("DELETE FROM catalogue_title WHERE source LIKE 'LSBBENCH%%' AND source <> %s", [SOURCE])


def fill(target):
    remove_stale()
    chunks = -(-target // CHUNK)
    have = Title.objects.filter(source=SOURCE).count()
    done = have // CHUNK
    if have % CHUNK:
        # A chunk is committed whole; anything else means rows from elsewhere: start that chunk again.
        Title.objects.filter(source=SOURCE, control_number__gte=f"B{done * CHUNK:08d}").delete()
    if done >= chunks:
        say(f"   {have:,} benchmark titles present, reusing them")
        return False
    say(f"   {have:,} benchmark titles present; generating chunks {done + 1}..{chunks} of {CHUNK:,}")
    # Bulk loading into a table without its search indexes, then building them, is much faster.
    search_indexes = [index for index in Title._meta.indexes if index.name in existing_indexes()]
    if search_indexes:
        with connection.schema_editor() as editor:
            for index in search_indexes:
                editor.remove_index(Title, index)
    generator = Generator()
    started = time.monotonic()
    for chunk in range(done, chunks):
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY catalogue_title ({COLUMNS}) FROM STDIN") as copy:
                now = timezone.now()
                for row in generator.rows(chunk):
                    copy.write_row(row + (now, now))
        loaded = (chunk + 1 - done) * CHUNK
        rate = loaded / (time.monotonic() - started)
        say(f"   {(chunk + 1) * CHUNK:>9,} titles  ({rate:,.0f}/s, ~{(chunks - chunk - 1) * CHUNK / rate:.0f} s left)")
    return True


def build_indexes():
    missing = [index for index in Title._meta.indexes if index.name not in existing_indexes()]
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
    for index in missing:
        started = time.monotonic()
        with connection.schema_editor() as editor:
            editor.add_index(Title, index)
        say(f"   index {index.name}: {time.monotonic() - started:.1f} s")


# --- Queries ---------------------------------------------------------------------------

_DUTCH_STOP = set("de het een en van in op te of aan met voor door bij naar the of and to".split())


def content_words(text):
    return [word for word in fold(text).split() if word not in _DUTCH_STOP and len(word) > 2]


def misspell(rng, word):
    if len(word) < 4:
        return word
    position = rng.randrange(1, len(word) - 1)
    how = rng.randrange(4)
    if how == 0:  # swap two letters
        return word[:position] + word[position + 1] + word[position] + word[position + 2:]
    if how == 1:  # drop one
        return word[:position] + word[position + 1:]
    if how == 2:  # double one
        return word[:position] + word[position] + word[position:]
    vowels = "aeiou"  # wrong vowel
    return word[:position] + rng.choice(vowels.replace(word[position], "")) + word[position + 1:] \
        if word[position] in vowels else word[:position] + word[position] * 2 + word[position + 1:]


def sample_titles(rng, count):
    low, high = Title.objects.filter(source=SOURCE).order_by("id").values_list("id", flat=True)[:1][0], \
        Title.objects.filter(source=SOURCE).order_by("-id").values_list("id", flat=True)[:1][0]
    ids = rng.sample(range(low, high + 1), count * 2)
    titles = list(Title.objects.filter(id__in=ids).only(
        "id", "title", "contributors_text", "material_type", "language", "year", "control_number"))
    rng.shuffle(titles)
    return titles


def has_words(hit, words):
    """Whether the hit's title, subtitle, series or makers hold every word (the last as a prefix)."""
    text = fold(" ".join([hit.title, hit.subtitle, hit.series, hit.contributors_text])).split()
    *rest, last = words
    return all(word in text for word in rest) and any(token.startswith(last) for token in text)


def build_queries(rng, count):
    """{kind: [(title_search arguments, relevance check on the result)]}."""
    titles = sample_titles(rng, count * 3)
    kinds = {"title words": [], "author": [], "ISBN": [], "misspelled title": [], "misspelled author": [],
             "filtered": []}

    def top_hit_has(words):
        return lambda result: bool(result.titles) and has_words(result.titles[0], words)

    def page_has(words):
        return lambda result: any(has_words(hit, words) for hit in result.titles)

    for title in titles:
        words = content_words(title.title)
        author = title.contributors_text.split(" ; ")[0]
        surname = author.split(",")[0]
        if len(words) >= 2 and len(kinds["title words"]) < count:
            start = rng.randrange(len(words) - 1)
            chosen = words[start:start + 2]
            if rng.random() < 0.3:  # typed only half of the last word
                chosen[-1] = chosen[-1][: max(3, len(chosen[-1]) // 2)]
            kinds["title words"].append(({"query": " ".join(chosen)}, top_hit_has(chosen)))
        if len(kinds["author"]) < count:
            first = author.split(",")[1].strip() if "," in author else ""
            query = f"{first} {surname}" if rng.random() < 0.5 else surname
            kinds["author"].append(({"query": query}, top_hit_has(fold(query).split())))
        if len(kinds["ISBN"]) < count:
            number = int(title.control_number[1:])
            form = rng.randrange(4)
            isbn = [isbn13(number), isbn10(number), f"978-90-{number:07d}-{isbn13(number)[-1]}",
                    f"90-{number:07d}-{isbn10(number)[-1]}"][form]
            kinds["ISBN"].append(({"query": isbn}, lambda result, pk=title.id: [t.id for t in result.titles] == [pk]))
        long_words = [word for word in words if len(word) >= 5]
        if long_words and len(kinds["misspelled title"]) < count:
            chosen = long_words[:2] if len(long_words) >= 2 and rng.random() < 0.6 else [rng.choice(long_words)]
            kinds["misspelled title"].append(
                ({"query": " ".join(misspell(rng, word) for word in chosen)}, page_has(chosen)))
        last_name = fold(surname).split()[-1] if surname.strip() else ""
        if len(last_name) >= 5 and len(kinds["misspelled author"]) < count:
            kinds["misspelled author"].append(({"query": misspell(rng, last_name)}, page_has([last_name])))
        if words and len(kinds["filtered"]) < count:
            filters = {"material_type": title.material_type}
            if rng.random() < 0.5:
                filters["language"] = title.language
            if title.year and rng.random() < 0.7:
                filters["year_from"], filters["year_to"] = title.year - 5, title.year + 5
            word = rng.choice(words)
            kinds["filtered"].append(({"query": word, **filters}, top_hit_has([word])))
    return kinds


def measure(kinds, warmup=20):
    rows = []
    for kind, queries in kinds.items():
        for arguments, _ in queries[:warmup]:
            title_search(**arguments)
        timings, relevant, strategies = [], 0, {}
        for arguments, check in queries:
            started = time.perf_counter()
            result = title_search(**arguments)
            timings.append((time.perf_counter() - started) * 1000)
            relevant += check(result)
            strategies[result.strategy] = strategies.get(result.strategy, 0) + 1
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        rows.append((kind, len(timings), statistics.median(timings), p95, timings[-1], relevant / len(queries),
                     strategies))
    return rows


def examples():
    for query in ["harry potter", "harry pot", "hary poter", "tolkein", "ontdekking hemel", "mulisch",
                  "boeken", "Ëlfen", "café amsterdam", isbn13(1), f"90-0000001-{isbn10(1)[-1]}"]:
        result = title_search(query=query, limit=3)
        top = "; ".join(f"{t.title} / {t.contributors_text}" for t in result.titles[:2])
        say(f"   {query!r:24} {result.strategy:17} {result.total:>5}{'+' if result.total_capped else ' '} {top[:90]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--titles", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261124)
    arguments = parser.parse_args()

    say(f"== Catalogue: at least {arguments.titles:,} titles")
    fill(arguments.titles)
    build_indexes()
    total = Title.objects.count()
    say(f"   {total:,} titles in the catalogue")
    say("== VACUUM ANALYZE catalogue_title")
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE catalogue_title")
    say(f"   {time.monotonic() - started:.1f} s")

    say("== Examples (query, strategy, total, first hits)")
    examples()

    say(f"== {arguments.queries} queries per kind through catalogue.selectors.title_search")
    rng = random.Random(arguments.seed)
    rows = measure(build_queries(rng, arguments.queries))

    say()
    say(f"Search latency over {total:,} titles (ms; target p95 < {TARGET_P95_MS:.0f} ms)")
    say(f"{'query kind':<19}{'n':>5}{'p50':>8}{'p95':>8}{'max':>8}  {'found':>6}  result  strategies")
    failed = False
    for kind, count, p50, p95, worst, hit_rate, strategies in rows:
        ok = p95 < TARGET_P95_MS
        failed |= not ok
        used = ", ".join(f"{name} {number}" for name, number in sorted(strategies.items()))
        say(f"{kind:<19}{count:>5}{p50:>8.1f}{p95:>8.1f}{worst:>8.1f}  {hit_rate:>6.0%}  {'PASS' if ok else 'FAIL':<6}  {used}")
    say()
    say("found: title words, author, filtered: the first hit holds the query's words; ISBN: exactly the title;")
    say("       misspelled: a title on the first page holds the correctly spelled words.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
