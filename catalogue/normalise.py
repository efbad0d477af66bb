"""Normalising identifiers and text the same way on the way in (import) and on
the way out (search): ISBN-10/13 to a checked ISBN-13, EAN, and accent-folded text."""

import re
import unicodedata

_ISBN_CANDIDATE = re.compile(r"[0-9][0-9\- ]{8,16}[0-9Xx]")


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


def looks_like_identifier(query):
    """Whether a search query is an ISBN/EAN (digits, hyphens, spaces, a final X)."""
    compact = re.sub(r"[\- ]", "", query or "")
    return len(compact) in (10, 12, 13) and compact[:-1].isdigit() and (compact[-1].isdigit() or compact[-1] in "Xx")


def fold(text):
    """Lower case without accents or punctuation: 'Ëlfen, één!' -> 'elfen een'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^\w]+", " ", stripped.lower()).split())
