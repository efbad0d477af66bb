"""The demo data of the run command: five library organisations in four
provinces, with branches, opening hours and staff of every role, and for each of
those provinces its POI's administrator and hub staff."""

import datetime

T = datetime.time

WEEKDAYS_10_TO_18 = [(day, T(10), T(18)) for day in range(0, 5)] + [(5, T(10), T(17))]
SMALL_BRANCH_HOURS = [(1, T(13), T(17)), (3, T(10), T(12)), (3, T(13), T(17)), (5, T(10), T(13))]

LIBRARIES = [
    {
        "name": "Bibliotheek Utrecht",
        "slug": "utrecht",
        "opac_colour": "#b3122e",  # the members' catalogue
        "isil": "NL-3400000001",
        "province": "UT",
        "branches": [
            {"code": "neude", "name": "Bibliotheek Neude", "street": "Neude 11", "postcode": "3512 AE",
             "city": "Utrecht", "opening_hours": WEEKDAYS_10_TO_18 + [(6, T(12), T(17))]},
            {"code": "lr", "name": "Bibliotheek Leidsche Rijn", "street": "Brederodelaan 2", "postcode": "3541 AX",
             "city": "Utrecht", "opening_hours": SMALL_BRANCH_HOURS},
        ],
    },
    {
        "name": "Bibliotheek Eemland",
        "slug": "eemland",
        "opac_colour": "#005a70",  # the members' catalogue
        "isil": "NL-3400000002",
        "province": "UT",
        "branches": [
            {"code": "amf", "name": "Bibliotheek Eemhuis", "street": "Eemplein 77", "postcode": "3812 EA",
             "city": "Amersfoort", "opening_hours": WEEKDAYS_10_TO_18},
            {"code": "leusden", "name": "Bibliotheek Leusden", "street": "Hamersveldseweg 39", "postcode": "3833 GL",
             "city": "Leusden", "opening_hours": SMALL_BRANCH_HOURS},
        ],
    },
    {
        "name": "Bibliotheek Rotterdam",
        "slug": "rotterdam",
        "opac_colour": "#00704a",  # the members' catalogue
        "isil": "NL-2800000001",
        "province": "ZH",
        "branches": [
            {"code": "cb", "name": "Centrale Bibliotheek", "street": "Hoogstraat 110", "postcode": "3011 PV",
             "city": "Rotterdam", "opening_hours": WEEKDAYS_10_TO_18 + [(6, T(13), T(17))]},
            {"code": "kralingen", "name": "Bibliotheek Kralingen", "street": "Hoflaan 110", "postcode": "3062 JM",
             "city": "Rotterdam", "opening_hours": SMALL_BRANCH_HOURS},
        ],
    },
    {
        "name": "Bibliotheek Gelderland Zuid",
        "slug": "gelderlandzuid",
        "opac_colour": "#5b2a86",  # the members' catalogue
        "isil": "NL-2500000001",
        "province": "GE",
        "branches": [
            {"code": "nijmegen", "name": "De Mariënburg", "street": "Mariënburg 29", "postcode": "6511 PS",
             "city": "Nijmegen", "opening_hours": WEEKDAYS_10_TO_18},
            {"code": "tiel", "name": "Bibliotheek Tiel", "street": "Varkensmarkt 6", "postcode": "4001 MA",
             "city": "Tiel", "opening_hours": SMALL_BRANCH_HOURS},
        ],
    },
    {
        "name": "Bibliotheek Midden-Brabant",
        "slug": "middenbrabant",
        "opac_colour": "#c4561d",  # the members' catalogue
        "isil": "NL-5000000001",
        "province": "NB",
        "branches": [
            {"code": "lochal", "name": "Bibliotheek LocHal", "street": "Burgemeester Brokxlaan 1000",
             "postcode": "5041 SG", "city": "Tilburg", "opening_hours": WEEKDAYS_10_TO_18 + [(6, T(11), T(17))]},
            {"code": "waalwijk", "name": "Bibliotheek Waalwijk", "street": "Vredesplein 4", "postcode": "5142 RA",
             "city": "Waalwijk", "opening_hours": SMALL_BRANCH_HOURS},
        ],
    },
]

DEMO_PASSWORD = "lsb-demo-2026"
# Each demo library's self-service machine (SIP2 login <slug>-automaat at its main
# branch, the first listed); members sign in at it with their card and PIN 1234.
DEMO_MACHINE_PASSWORD = "lsb-sip2-demo-2026"


def demo_machine_login(slug):
    return f"{slug}-automaat"


# The REST API's demo keys, per demo library (DEMO ONLY: known values, never use such
# a key outside the demo): a self-service machine's key (login <slug>-api, at the main
# branch) and an integration key of the desk user <slug>.balie.
def demo_machine_api_login(slug):
    return f"{slug}-api"


def demo_machine_api_key(number, slug):
    return f"lsbm_demom{number:05d}_{slug}-demo-only-not-secret"


def demo_staff_api_key(number, slug):
    return f"lsbs_demos{number:05d}_{slug}-demo-only-not-secret"

# (username, first name, last name, {library slug: [roles]}, POI codes, national admin)
STAFF = [
    ("landelijk", "Lotte", "Landelijk", {}, [], True),
    ("bisc.beheer", "Bram", "van BiSC", {}, ["bisc"], False),
    ("probiblio.beheer", "Priya", "Probiblio", {}, ["probiblio"], False),
    ("rijnbrink.beheer", "Roos", "Rijnbrink", {}, ["rijnbrink"], False),
    ("cubiss.beheer", "Cor", "Cubiss", {}, ["cubiss"], False),
    ("utrecht.balie", "Daan", "de Vries", {"utrecht": ["desk"]}, [], False),
    ("utrecht.coordinator", "Iris", "Hendriks", {"utrecht": ["desk", "desk_supervisor"]}, [], False),
    ("utrecht.collectie", "Sanne", "Jansen", {"utrecht": ["collection"]}, [], False),
    ("utrecht.inkoop", "Ahmed", "El Amrani", {"utrecht": ["acquisitions"]}, [], False),
    ("utrecht.beheer", "Femke", "Bakker", {"utrecht": ["library_admin"]}, [], False),
    ("eemland.balie", "Joris", "Smit", {"eemland": ["desk"]}, [], False),
    ("eemland.beheer", "Mila", "Visser", {"eemland": ["library_admin"]}, [], False),
    ("rotterdam.balie", "Noah", "Meijer", {"rotterdam": ["desk"]}, [], False),
    ("rotterdam.beheer", "Emma", "de Boer", {"rotterdam": ["library_admin"]}, [], False),
    ("gelderlandzuid.balie", "Lucas", "Mulder", {"gelderlandzuid": ["desk"]}, [], False),
    ("gelderlandzuid.beheer", "Julia", "de Groot", {"gelderlandzuid": ["library_admin"]}, [], False),
    ("middenbrabant.balie", "Sem", "Bos", {"middenbrabant": ["desk"]}, [], False),
    ("middenbrabant.beheer", "Tess", "Vos", {"middenbrabant": ["library_admin"]}, [], False),
]

# Staff of the POIs' hubs (the IBL hub screen, /ibl/sorteercentrum/ on the national
# site), one per POI of the demo provinces, as the POI administrators above: every
# demo library's copies pass their POI's hub. (username, first name, last name, POI code)
HUB_STAFF = [
    ("bisc.sorteer", "Sven", "Sorteerder", "bisc"),
    ("probiblio.sorteer", "Pien", "Pakketten", "probiblio"),
    ("rijnbrink.sorteer", "Ruud", "Rolcontainer", "rijnbrink"),
    ("cubiss.sorteer", "Kees", "Kratten", "cubiss"),
]

# Members of every demo library: (code, name, annual fee in cents, max loans, youth, includes)
SUBSCRIPTIONS = [
    ("jeugd", "Jeugd", 0, 20, True, "Boeken, tijdschriften en luisterboeken"),
    ("basis", "Basis", 2500, 5, False, "Vijf boeken tegelijk"),
    ("standaard", "Standaard", 4800, 20, False, "Boeken, tijdschriften, luisterboeken en e-books"),
]
# (code, name, min age, max age, default subscription)
CATEGORIES = [
    ("jeugd", "Jeugd", 0, 17, "jeugd"),
    ("volwassene", "Volwassene", 18, None, "standaard"),
]
MEMBERS = [
    {"first_name": "Anna", "last_name": "Jansen", "date_of_birth": datetime.date(1985, 3, 14),
     "street": "Lange Nieuwstraat", "house_number": "12", "postcode": "3512 PH", "city": "Utrecht",
     "email": "anna.jansen@example.nl", "consents": {"loan_history": True, "newsletter": True}},
    {"first_name": "Bram", "name_prefix": "van der", "last_name": "Berg", "date_of_birth": datetime.date(1962, 11, 2),
     "street": "Oudegracht", "house_number": "200", "postcode": "3511 NR", "city": "Utrecht"},
    {"first_name": "Sara", "last_name": "El Idrissi", "date_of_birth": datetime.date(2014, 6, 30),
     "street": "Kanaalweg", "house_number": "5", "postcode": "3526 KL", "city": "Utrecht"},
    {"first_name": "Mees", "last_name": "de Wit", "date_of_birth": datetime.date(2009, 1, 9),
     "street": "Biltstraat", "house_number": "88", "postcode": "3572 BG", "city": "Utrecht",
     "email": "mees.dewit@example.nl"},
]

# Loan rules of every demo library: (for whom: a category code, "gast" for guests;
# item type or "" for all; {LoanRule field: value}). The most specific matching
# rule wins, and a category beats an item type, so DVDs get a rule per group.
_ADULT_FINES = {"fine_per_day_cents": 25, "fine_max_cents": 500}
_DVD = {"loan_days": 7, "max_renewals": 1, "loan_fee_cents": 100, "max_loans_of_type": 3}
LOAN_RULES = [
    ("volwassene", "", {"loan_days": 21, "max_renewals": 2, **_ADULT_FINES}),
    ("volwassene", "dvd", {**_DVD, **_ADULT_FINES}),
    ("jeugd", "", {"loan_days": 21, "max_renewals": 2}),  # no fines for youth
    ("jeugd", "dvd", {**_DVD}),
    ("gast", "", {"loan_days": 21, "max_renewals": 2, "max_loans_total": 5, **_ADULT_FINES}),
    ("gast", "dvd", {**_DVD, "max_loans_total": 5, **_ADULT_FINES}),
]
# Item types that float (stay where they are returned), per library slug; none elsewhere.
FLOATING_ITEM_TYPES = {"utrecht": ["book"]}
