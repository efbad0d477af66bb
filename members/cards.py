"""Card numbers as every edge may send them.

The desk's scanner, a member typing in the OPAC, the REST API and SIP2 send the
same card as " 2010 0000 01 " or with lower-case letters; LSB stores it without
spaces, in capitals. This is the one clean-up, used by registration, the borrower
look-up and member sign-in.
"""


def card_number_normalise(card_number):
    return "".join((card_number or "").split()).upper()
