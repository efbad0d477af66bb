"""Search in every script: real records (LoC open-access records with their titles in
the original script in 880, an OCLC Greek record) imported through the importer,
then found by title words typed exactly as printed; Latin with and without accents;
an ISBN typed with 'ISBN' before it. The index and the query fold text with the
same function (catalogue.normalise.fold)."""

import pytest

from catalogue.models import Title
from catalogue.normalise import fold
from catalogue.selectors import STRATEGY_IDENTIFIER, title_search

from .marc_support import marc_bytes, run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db):
    run_import(marc_bytes("loc-scripts.mrc"))
    run_import(marc_bytes("oclc-814388508-greek.xml"))
    run_import(marc_bytes("marc.dat"))
    return {title.control_number: title for title in Title.objects.all()}


def found(query, **filters):
    return [title.control_number for title in title_search(query=query, **filters).titles]


TYPED_EXACTLY = [
    # Cyrillic: й (Russian), ї and і (Ukrainian) are letters of their own, not accented и/i.
    ("Иркутской области", "00299607"),
    ("Экономика", "00299607"),
    ("Сергей Бычков", "00404412"),  # the maker as the original script prints it (880 linked to 245 $c)
    ("Тихие огни", "00404412"),
    ("релігії", "00349825"),
    ("Україні", "00349825"),
    ("Історія релігії в Україні", "00349825"),
    ("Үнэний", "00289934"),  # Mongolian, written in the record as &#x04AE;
    # Arabic script: Persian with its zero-width non-joiner, Arabic.
    ("مشيت الهى", "00193541"),
    ("شيرين", "00313448"),
    # Hebrew, with a geresh after the last word.
    ("סדור תהלת", "00136410"),
    ("לארץ חמדה יולד", "00271696"),
    # Chinese and Japanese, written without spaces: any word of two characters or more.
    ("民俗", "00049925"),
    ("故事與民俗", "00049925"),
    ("グローバル", "00271416"),  # katakana with voicing marks (グ, バ)
    ("産業連関分析", "00271416"),
    ("ヤマト民族", "00272649"),
    ("アジア", "00272649"),
    # Korean (Hangul syllables, not their letters).
    ("영욕", "00272147"),
    ("한국 경제 더 물러 설 수 없다", "00272144"),
    # Greek, with and without its accents.
    ("Η αγορά στη Μεσόγειο", "ocn814388508"),
    ("αγορα μεσογειο", "ocn814388508"),
    ("ΑΓΟΡΆ", "ocn814388508"),
    ("Hē agora stē Mesogeio", "ocn814388508"),  # the romanised title
]


def test_title_words_in_every_script_are_found_typed_exactly(catalogue):
    missed = [(query, control_number) for query, control_number in TYPED_EXACTLY
              if control_number not in found(query)]
    assert missed == []


def test_latin_diacritics_are_found_with_and_without_accents(catalogue):
    """LoC delivers these titles decomposed (NFD); they are stored NFC and found either way."""
    for query, control_number in [
        ("Aufklärung", "00041360"),
        ("Aufklarung", "00041360"),
        ("AUFKLÄRUNG", "00041360"),
        ("Prodige à voir", "00035640"),
        ("prodige a voir", "00035640"),
        ("Vanséveren", "00035640"),
        ("Vanseveren", "00035640"),
    ]:
        assert found(query) == [control_number], query


def test_an_isbn_is_found_with_or_without_the_isbn_prefix(catalogue):
    for query in ["ISBN 9042908351", "isbn 978-90-429-0835-2", "ISBN-13: 9789042908352", "ISBN: 90-429-0835-1",
                  "9789042908352"]:
        result = title_search(query=query)
        assert result.strategy == STRATEGY_IDENTIFIER, query
        assert [title.control_number for title in result.titles] == ["00035640"], query


def test_an_issn_is_found(db):
    from tests.factories import TitleFactory

    TitleFactory(title="Bibliotheekblad", issns=["0317-8471"])
    TitleFactory(title="Ander blad", issns=["1234-5679"])
    assert [title.title for title in title_search(query="ISSN 0317-8471").titles] == ["Bibliotheekblad"]
    assert [title.title for title in title_search(query="03178471").titles] == ["Bibliotheekblad"]


def test_the_index_and_the_query_fold_alike(catalogue):
    """What the folding does with the letters an accent-stripping fold broke."""
    assert fold("Иркутской") == "иркутской"  # not 'иркутскои'
    assert fold("Україні") == "україні"  # not 'украіні'
    assert fold("グローバル") == "グロ ロー ーバ バル"  # voicing marks kept, pairs of characters
    assert fold("한국") == "한국"  # syllables, not their letters
    assert fold("Αγορά") == "αγορα" and fold("Aufklärung") == "aufklarung"
    title = catalogue["00299607"]
    assert "иркутской" in title.title_folded.split()
    assert title.vernacular_title == "Экономика Иркутской области"


def test_websearch_syntax_works_in_other_scripts_too(catalogue):
    assert found('"Тихие огни"') == ["00404412"]
    assert "00299607" not in found("Экономика -Иркутской")
