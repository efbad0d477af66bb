"""Reference data of the national registry: the 12 provinces and the 9 POIs
that serve them (public figures), with each POI's sorting hub."""

# (code, name, provinces served (ISO 3166-2:NL codes), hub (name, street, postcode, city))
POIS = [
    ("probiblio", "Probiblio", ["NH", "ZH"], ("Sorteercentrum Probiblio", "Hoeksteen 164", "2132 MX", "Hoofddorp")),
    ("rijnbrink", "Rijnbrink", ["GE", "OV"], ("Sorteercentrum Rijnbrink", "Oostzeestraat 2", "7202 CM", "Zutphen")),
    ("cubiss", "Cubiss", ["NB", "LI"], ("Sorteercentrum Cubiss", "Ringbaan-Oost 102", "5013 CD", "Tilburg")),
    ("biblionet-groningen", "Biblionet Groningen", ["GR"], ("Sorteercentrum Biblionet Groningen", "Oude Boteringestraat 22", "9712 GJ", "Groningen")),
    ("bibliotheeknetwerk-flevoland", "BibliotheekNetwerk Flevoland", ["FL"], ("Sorteercentrum Flevoland", "Stadhuisplein 1", "8232 ZX", "Lelystad")),
    ("fers", "Fers", ["FR"], ("Sorteercentrum Fers", "Zuiderkruis 2", "8915 KD", "Leeuwarden")),
    ("biblionet-drenthe", "Biblionet Drenthe", ["DR"], ("Sorteercentrum Biblionet Drenthe", "Oostersingel 2", "9401 JZ", "Assen")),
    ("bisc", "BiSC", ["UT"], ("Sorteercentrum BiSC", "Van Eeghenlaan 12", "3584 LN", "Utrecht")),
    ("zb-planbureau", "ZB Planbureau", ["ZE"], ("Sorteercentrum ZB", "Kousteensedijk 7", "4331 JE", "Middelburg")),
]

PROVINCES = [
    ("DR", "Drenthe"),
    ("FL", "Flevoland"),
    ("FR", "Friesland"),
    ("GE", "Gelderland"),
    ("GR", "Groningen"),
    ("LI", "Limburg"),
    ("NB", "Noord-Brabant"),
    ("NH", "Noord-Holland"),
    ("OV", "Overijssel"),
    ("UT", "Utrecht"),
    ("ZE", "Zeeland"),
    ("ZH", "Zuid-Holland"),
]
