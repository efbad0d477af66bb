"""Normalising identifiers and text, one way for every use: ISBN-10/13 to a checked
ISBN-13, EAN, ISSN; `clean_text` for every text the catalogue stores (NFC, no
control characters); and `fold`, the one folding of text for search, used on the
way in (the folded columns the search index is built from) and on the way out
(the query), so that a word typed exactly as it is printed is always found.

`fold` in short: lower case (Unicode case folding, so 'ß' is 'ss' and Greek final
sigma is sigma), compatibility forms unified (NFKC: full-width letters and digits,
ligatures, half-width katakana), diacritics removed where readers type without them
(Latin, Greek, Arabic harakat and hamza seats, Hebrew points) but kept where the
letter is a letter of its own (Cyrillic й and ї, Japanese kana with voicing marks,
Hangul syllables, Indic vowel signs); a few letters that have no decomposition
folded by hand (ø, æ, œ, ł, đ, ð, þ, ı; Cyrillic ё as е; Arabic/Persian yeh and
kaf); everything that is not a letter or digit separates words; and runs of
Chinese, Japanese and Korean characters, written without spaces between words,
become overlapping pairs of characters (a single character stays itself), so
that any word of two or more characters inside a title is found.
"""

import re
import unicodedata
from functools import lru_cache

_ISBN_CANDIDATE = re.compile(r"[0-9][0-9\- ]{8,16}[0-9Xx]")
_ISSN = re.compile(r"([0-9]{4})-?([0-9]{3}[0-9Xx])")
# What a searcher may type before an identifier: 'ISBN 978…', 'isbn-13: …', 'EAN …', 'ISSN …'.
_IDENTIFIER_PREFIX = re.compile(r"^\s*(isbn|ean|issn)(?:[- ]?1[03])?\s*:?\s*", re.IGNORECASE)


def _isbn10_valid(digits):
    total = sum((10 - index) * (10 if char in "Xx" else int(char)) for index, char in enumerate(digits))
    return total % 11 == 0


def ean13_check_digit(first12):
    """The check digit of an EAN-13 / ISBN-13 from its first 12 digits."""
    total = sum(int(char) * (1 if index % 2 == 0 else 3) for index, char in enumerate(first12))
    return str((10 - total % 10) % 10)


def ean13_valid(digits):
    return len(digits) == 13 and digits.isdigit() and ean13_check_digit(digits[:12]) == digits[12]


def isbn_normalise(value):
    """The ISBN-13 in `value` ('90-245-1234-5 (geb.)', '978-90-...'), or None when
    it holds no ISBN with a valid checksum."""
    if not value:
        return None
    match = _ISBN_CANDIDATE.search(value)
    if not match:
        return None
    compact = re.sub(r"[\- ]", "", match.group(0)).upper()
    if len(compact) == 10 and compact[:9].isdigit() and _isbn10_valid(compact):
        first12 = "978" + compact[:9]
        return first12 + ean13_check_digit(first12)
    if len(compact) == 13 and compact.startswith(("978", "979")) and ean13_valid(compact):
        return compact
    return None


def ean_normalise(value):
    """A 13-digit EAN (or 12-digit UPC, given a leading 0) with a valid checksum, else None."""
    compact = re.sub(r"[\- ]", "", (value or "").split(" ")[0])
    if len(compact) == 12 and compact.isdigit():
        compact = "0" + compact
    return compact if ean13_valid(compact) else None


def issn_normalise(value):
    """'1234-567X' when `value` holds an ISSN with a valid check digit, else None."""
    match = _ISSN.search(value or "")
    if not match:
        return None
    digits = (match.group(1) + match.group(2)).upper()
    total = sum((8 - index) * int(char) for index, char in enumerate(digits[:7]))
    check = (11 - total % 11) % 11
    if digits[7] != ("X" if check == 10 else str(check)):
        return None
    return f"{digits[:4]}-{digits[4:]}"


def strip_identifier_prefix(query):
    """The query without a leading 'ISBN', 'ISBN-13:', 'EAN' or 'ISSN' (and which one, lower case, or '')."""
    match = _IDENTIFIER_PREFIX.match(query or "")
    if not match:
        return query or "", ""
    return query[match.end():], match.group(1).lower()


def looks_like_identifier(query):
    """Whether a search query is an ISBN/EAN (digits, hyphens, spaces, a final X),
    with or without 'ISBN'/'EAN' before it."""
    compact = re.sub(r"[\- ]", "", strip_identifier_prefix(query)[0])
    return len(compact) in (10, 12, 13) and compact[:-1].isdigit() and (compact[-1].isdigit() or compact[-1] in "Xx")


def looks_like_issn(query):
    """Whether a search query is an ISSN ('0317-8471', 'ISSN 0317847X')."""
    rest, prefix = strip_identifier_prefix(query)
    compact = rest.strip()
    return prefix in ("", "issn") and bool(re.fullmatch(r"[0-9]{4}-?[0-9]{3}[0-9Xx]", compact))


# --- clean text -----------------------------------------------------------------------

# C0 and C1 control characters, DEL, and the non-characters XML 1.0 cannot carry.
# Tab, line feed and carriage return become a space (MARC allows none of them in
# its data); every other one goes.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
_CONTROL_TO_SPACE = {"\t": " ", "\n": " ", "\r": " "}
# The lossless MARC-8 -> Unicode convention writes a character MARC-8 cannot hold as
# an escaped numeric character reference ('&#x04AE;'); it is that character.
_NCR = re.compile(r"&#x([0-9A-Fa-f]{2,6});")


def _ncr(match):
    code_point = int(match.group(1), 16)
    if code_point > 0x10FFFF or 0xD800 <= code_point <= 0xDFFF or _CONTROL.match(chr(code_point)):
        return match.group(0)
    return chr(code_point)


def has_control_characters(text):
    return bool(_CONTROL.search(text))


def clean_text(text):
    """The text as the catalogue stores it: Unicode NFC, without control characters
    (tab and line breaks become a space), MARC's numeric character references resolved."""
    if not text:
        return text or ""
    if "&#x" in text:
        text = _NCR.sub(_ncr, text)
    if _CONTROL.search(text):
        text = _CONTROL.sub(lambda match: _CONTROL_TO_SPACE.get(match.group(0), ""), text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


# --- fold (search) ----------------------------------------------------------------------

_ASCII_NON_WORD = re.compile(r"[^a-z0-9]+")
# Scripts whose diacritics a reader may leave out (they are folded away on both sides).
_STRIP_MARKS = ("LATIN", "GREEK", "ARABIC", "HEBREW")
# Scripts whose stray combining marks are dropped too, though their letters are kept whole.
_DROP_STRAY_MARKS = _STRIP_MARKS + ("CYRILLIC",)
_SPECIAL = {
    "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ħ": "h", "ŧ": "t",
    "ё": "е",  # Cyrillic: ё is commonly written е
    "ى": "ي", "ی": "ي", "ک": "ك",  # Arabic/Persian yeh and kaf, as the two scripts' keyboards type them
    "ـ": "",  # Arabic tatweel (stretching), no letter
}
_SEPARATOR = " "
_WORD, _MARK, _SKIP = 1, 2, 3


def _script(char):
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] if name else ""


# Chinese characters, kana, Hangul (syllables and letters), and the iteration marks 々〆〇.
_CJK = re.compile("[\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0003ffff\uf900-\ufaff\u3040-\u30ff"
                  "\u31f0-\u31ff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f\u3005-\u3007]")


def _is_cjk(char):
    return _CJK.match(char) is not None


@lru_cache(maxsize=65536)
def _fold_char(char):
    """(kind, folded text, script) of one character after NFKC and case folding."""
    if char in _SPECIAL:
        return _WORD, _SPECIAL[char], ""
    category = unicodedata.category(char)
    if category[0] in "LN":
        script = _script(char)
        if script in _STRIP_MARKS:
            decomposed = unicodedata.normalize("NFD", char)
            base = "".join(part for part in decomposed if not unicodedata.combining(part))
            return _WORD, _SPECIAL.get(base, base), script
        return _WORD, char, script
    if category[0] == "M":
        return _MARK, char, ""
    if char == "\u200c":  # zero-width non-joiner: Persian's half space, a word boundary to a searcher
        return _SKIP, _SEPARATOR, ""
    if category == "Cf":  # bidi marks, joiners, soft hyphen: invisible, no boundary
        return _SKIP, "", ""
    return _SKIP, _SEPARATOR, ""


def fold(text):
    """Text as the search index and the query both see it: 'Ëlfen, één!' -> 'elfen een',
    'Экономика Иркутской' -> 'экономика иркутской', '日本語' -> '日本 本語'.
    The same function for title and query: what is typed exactly as printed is found."""
    if not text:
        return ""
    if text.isascii():
        return " ".join(_ASCII_NON_WORD.sub(" ", text.lower()).split())
    text = unicodedata.normalize("NFKC", text).casefold()
    pieces = []
    previous_script = ""
    for char in text:
        kind, folded, script = _fold_char(char)
        if kind == _MARK:
            # A mark belongs to the letter before it: dropped where that script's
            # marks are folded away (or stray), kept as part of the word elsewhere.
            if previous_script and previous_script not in _DROP_STRAY_MARKS:
                pieces.append(folded)
            continue
        pieces.append(folded)
        previous_script = script if kind == _WORD else ""
    folded = "".join(pieces)
    if not _CJK.search(folded):
        return " ".join(folded.split())
    words = folded.split()
    return " ".join(token for word in words for token in _cjk_tokens(word))


def _cjk_tokens(word):
    """A word split into its non-CJK parts and its CJK runs, each run as overlapping
    character pairs (a single character on its own)."""
    tokens, run, other = [], [], []

    def flush_run():
        if len(run) == 1:
            tokens.append(run[0])
        else:
            tokens.extend(run[index] + run[index + 1] for index in range(len(run) - 1))
        run.clear()

    for char in word:
        if _is_cjk(char):
            if other:
                tokens.append("".join(other))
                other.clear()
            run.append(char)
        else:
            if run:
                flush_run()
            other.append(char)
    if run:
        flush_run()
    if other:
        tokens.append("".join(other))
    return tokens


def search_columns(*, title="", vernacular_title="", contributors_text="", vernacular_contributors="",
                   subtitle="", series="", subjects_text=""):
    """The folded columns the search index (Title.search_vector) is generated from."""
    return {
        "title_folded": fold(" ".join(part for part in (title, vernacular_title) if part)),
        "contributors_folded": fold(" ".join(part for part in (contributors_text, vernacular_contributors) if part)),
        "subtitle_series_folded": fold(" ".join(part for part in (subtitle, series) if part)),
        "subjects_folded": fold(subjects_text),
    }
