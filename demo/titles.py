"""Demo titles for the run command: Dutch classics and children's books, as MARC21
records (no ISBNs: invented ones could collide with real books)."""

import io

from pymarc import Field, Leader, Record, Subfield

# (control number, title, subtitle, author, year, audience code 008/22, subjects)
TITLES = [
    ("1", "Max Havelaar", "of de koffi-veilingen der Nederlandsche Handel-Maatschappy", "Multatuli", 1860, "e",
     ["Koloniale geschiedenis", "Nederlands-Indië"]),
    ("2", "De avonden", "een winterverhaal", "Reve, Gerard", 1947, "e", ["Naoorlogse literatuur"]),
    ("3", "Het Achterhuis", "dagboekbrieven 12 juni 1942 - 1 augustus 1944", "Frank, Anne", 1947, "e",
     ["Tweede Wereldoorlog", "Jodenvervolging"]),
    ("4", "De aanslag", "", "Mulisch, Harry", 1982, "e", ["Tweede Wereldoorlog", "Verzet"]),
    ("5", "Turks fruit", "", "Wolkers, Jan", 1969, "e", ["Liefde"]),
    ("6", "Het verdriet van België", "", "Claus, Hugo", 1983, "e", ["België", "Tweede Wereldoorlog"]),
    ("7", "Nijntje in de speeltuin", "", "Bruna, Dick", 1975, "a", ["Prentenboeken", "Spelen"]),
    ("8", "Kikker is verliefd", "", "Velthuijs, Max", 1989, "a", ["Prentenboeken", "Liefde"]),
    ("9", "Pluk van de Petteflet", "", "Schmidt, Annie M.G.", 1971, "b", ["Kinderboeken", "Dieren"]),
    ("10", "Dolfje Weerwolfje", "", "Van de Vendel, Edward", 1990, "b", ["Kinderboeken", "Weerwolven"]),
    ("11", "De brief voor de koning", "", "Dragt, Tonke", 1962, "c", ["Ridders", "Avonturen"]),
    ("12", "Oorlogswinter", "", "Terlouw, Jan", 1972, "d", ["Tweede Wereldoorlog", "Verzet"]),
    ("13", "Het gouden ei", "", "Krabbé, Tim", 1984, "e", ["Thrillers", "Verdwijning"]),
    ("14", "Boven is het stil", "", "Bakker, Gerbrand", 2006, "e", ["Platteland", "Eenzaamheid"]),
    ("15", "Tonio", "een requiemroman", "Heijden, A.F.Th. van der", 2011, "e", ["Rouw", "Vader en zoon"]),
    ("16", "Het diner", "", "Koch, Herman", 2009, "e", ["Familie", "Geweld"]),
    ("17", "Koning van Katoren", "", "Dragt, Tonke", 1971, "c", ["Avonturen", "Koningen"]),
    ("18", "Mijn kleine oorlog", "", "Boon, Louis Paul", 1947, "e", ["Tweede Wereldoorlog", "Vlaanderen"]),
]
SOURCE = "LSBDEMO"


def demo_records():
    """The demo titles as ISO 2709 (UTF-8) bytes, one file."""
    out = io.BytesIO()
    for number, title, subtitle, author, year, audience, subjects in TITLES:
        record = Record(leader=Leader("00000nam a2200000 a 4500"), force_utf8=True)
        record.add_field(Field(tag="001", data=f"DEMO{int(number):05d}"), Field(tag="003", data=SOURCE))
        record.add_field(Field(tag="008", data=f"240101s{year}    ne     {audience}      000 1 dut d"))
        record.add_field(Field(tag="100", indicators=["1", " "], subfields=[Subfield("a", author)]))
        title_subfields = [Subfield("a", title + (" :" if subtitle else ""))]
        if subtitle:
            title_subfields.append(Subfield("b", subtitle))
        record.add_field(Field(tag="245", indicators=["1", "0"], subfields=title_subfields))
        record.add_field(
            Field(tag="264", indicators=[" ", "1"], subfields=[Subfield("a", "Amsterdam"), Subfield("c", str(year))])
        )
        for subject in subjects:
            record.add_field(Field(tag="650", indicators=[" ", "4"], subfields=[Subfield("a", subject)]))
        out.write(record.as_marc())
    return out.getvalue()
