"""The acquisitions services' refusals: code -> Dutch sentence (core.errors)."""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    # Suppliers.
    "supplier.code_missing": _("Geef de leverancier een code."),
    "supplier.name_missing": _("Geef de naam van de leverancier."),
    "supplier.code_taken": _("Er is al een leverancier met code %(value)s."),
    "supplier.discount_invalid": _("De korting moet tussen 0 en 100 procent liggen."),
    "supplier.vat_invalid": _("Het btw-percentage moet tussen 0 en 100 procent liggen."),
    "supplier.delivery_days_invalid": _("De levertijd moet tussen 0 en 365 dagen liggen."),
    "supplier.edi_id_missing": _("Bestellen via EDIFACT vraagt de EDIFACT-code van de leverancier en die van de "
                                 "bibliotheek."),
    "supplier.edi_id_invalid": _("EDIFACT-code '%(value)s' is ongeldig: alleen cijfers en letters, hoogstens 35."),
    "supplier.not_found": _("Deze leverancier bestaat niet."),
    "supplier.inactive": _("Leverancier %(supplier)s is niet actief."),
    "supplier.account_missing": _("Geef het klantnummer bij de leverancier."),
    "supplier.delivery_location_invalid": _("Afleverlocatie '%(value)s' is geen geldige %(kind)s: controleer de "
                                            "lengte en het controlecijfer."),
    # Funds.
    "fund.code_missing": _("Geef het fonds een code."),
    "fund.name_missing": _("Geef het fonds een naam."),
    "fund.code_taken": _("Er is in %(year)s al een fonds met code %(value)s."),
    "fund.year_invalid": _("Kies een begrotingsjaar tussen 2000 en 2100."),
    "fund.target_group_unknown": _("Onbekende doelgroep '%(value)s'."),
    "fund.parent_other_year": _("Een fonds valt alleen onder een fonds van hetzelfde jaar."),
    "fund.parent_cycle": _("Een fonds kan niet onder zichzelf of een van zijn onderdelen vallen."),
    "fund.amount_invalid": _("Het bedrag '%(value)s' is geen geldig bedrag in euro."),
    "fund.allocation_below_use": _("Fonds %(fund)s: de toekenning kan niet lager dan wat al is vastgelegd en "
                                   "uitgegeven (%(used)s)."),
    "fund.not_found": _("Dit fonds bestaat niet."),
    "fund.inactive": _("Fonds %(fund)s is niet actief."),
    "fund.overspent": _("Fonds %(fund)s heeft nog %(left)s; deze bestelling vraagt %(needed)s. Alleen "
                        "bibliotheekbeheer mag het fonds overschrijden."),
    "fund.rollover_exists": _("Er zijn al fondsen voor %(year)s: de overgang is al gedaan."),
    "fund.rollover_empty": _("Er zijn geen fondsen in %(year)s om over te zetten."),
    "fund.rollover_percent_invalid": _("Het percentage voor de nieuwe toekenning moet tussen 0 en 1000 liggen."),
    # Order lists, orders and their lines.
    "order.not_found": _("Deze bestelling bestaat niet."),
    "order.not_draft": _("Bestelling %(number)s is al verstuurd en kan niet meer worden gewijzigd."),
    "order.not_open": _("Bestelling %(number)s is niet (meer) lopend."),
    "order.empty": _("Bestellijst %(number)s heeft geen regels."),
    "order.edi_not_configured": _("Leverancier %(supplier)s ontvangt geen EDIFACT-bestellingen; druk de "
                                  "bestelling af."),
    "line.title_unknown": _("Titel %(title_id)s staat niet in de catalogus."),
    "line.quantity_invalid": _("Het aantal exemplaren moet minstens 1 zijn (hoogstens 999)."),
    "line.price_invalid": _("De prijs moet meer dan € 0,00 zijn."),
    "line.discount_invalid": _("De korting moet tussen 0 en 100 procent liggen."),
    "line.vat_invalid": _("Het btw-percentage moet tussen 0 en 100 procent liggen."),
    "line.fund_missing": _("Kies een fonds voor deze regel."),
    "line.fund_other_year": _("Fonds %(fund)s hoort bij %(year)s; bestellingen van dit jaar gaan op een fonds van "
                              "%(this_year)s."),
    "line.copies_missing": _("Verdeel de exemplaren over minstens één vestiging."),
    "line.not_found": _("Deze bestelregel bestaat niet."),
    "line.cancel_too_many": _("Regel %(line)s: er staan nog %(open)s exemplaren open; %(asked)s annuleren kan niet."),
    "line.nothing_open": _("Regel %(line)s heeft geen openstaande exemplaren meer."),
    # Receipt.
    "receipt.more_than_ordered": _("Regel %(line)s (%(title)s): %(asked)s ontvangen, maar er staan nog %(open)s "
                                   "open."),
    "receipt.branch_full": _("Regel %(line)s: voor %(branch)s staan nog %(open)s exemplaren open."),
    "receipt.no_barcodes": _("Scan voor elk ontvangen exemplaar een barcode."),
    "receipt.barcode_twice": _("Barcode '%(barcode)s' is twee keer gescand."),
    "receipt.delivery_unknown": _("Er is geen aangekondigde levering '%(reference)s'."),
    "receipt.delivery_done": _("Levering '%(reference)s' is al ontvangen."),
    "receipt.reference_taken": _("Pakbon '%(reference)s' van deze leverancier is al ontvangen."),
    # Invoices.
    "invoice.number_missing": _("Geef het factuurnummer."),
    "invoice.number_taken": _("Factuur %(number)s van deze leverancier is al geregistreerd."),
    "invoice.date_invalid": _("Geef een geldige factuurdatum."),
    "invoice.no_lines": _("Een factuur heeft minstens één regel."),
    "invoice.line_other_supplier": _("Regel %(line)s hoort bij een bestelling bij een andere leverancier."),
    "invoice.line_not_ordered": _("Regel %(line)s is niet besteld (de bestelling is nog een bestellijst)."),
    "invoice.more_than_ordered": _("Regel %(line)s (%(title)s): %(asked)s gefactureerd, maar er staan nog maar "
                                   "%(open)s te factureren."),
    "invoice.amount_invalid": _("Regel %(line)s: het bedrag moet meer dan € 0,00 zijn."),
    "invoice.total_mismatch": _("De regels tellen op tot %(lines)s, de factuur noemt %(total)s."),
    "invoice.not_found": _("Deze factuur bestaat niet."),
    "invoice.already_approved": _("Factuur %(number)s is al betaalbaar gesteld."),
    "invoice.not_received": _("Regel %(line)s (%(title)s): %(invoiced)s gefactureerd maar %(received)s ontvangen. "
                              "Alleen wat ontvangen is, wordt betaalbaar gesteld."),
    # Supplier title lists (MARC or CSV).
    "title_list.empty": _("Het bestand is leeg."),
    "title_list.format_unknown": _("Dit is geen CSV- of MARC21-bestand."),
    "title_list.csv_columns": _("De CSV mist de kolom '%(column)s' (kolommen: isbn, titel, auteur, uitgever, jaar, "
                                "prijs, aantal)."),
    "title_list.nothing_imported": _("Geen enkele regel kon worden overgenomen."),
    "row.isbn_invalid": _("Regel %(row)s: '%(value)s' is geen geldig ISBN."),
    "row.title_missing": _("Regel %(row)s: de titel ontbreekt."),
    "row.price_invalid": _("Regel %(row)s: prijs '%(value)s' is geen bedrag boven € 0,00."),
    "row.quantity_invalid": _("Regel %(row)s: aantal '%(value)s' is geen getal van 1 tot 999."),
    "row.record_refused": _("Record %(row)s geweigerd: %(reason)s"),
    "row.record_no_title": _("Record %(row)s: de catalogus vond de titel niet terug (geen ISBN of 001)."),
    # EDIFACT messages read from a supplier.
    "edifact.empty": _("Het EDIFACT-bestand is leeg."),
    "edifact.syntax": _("Geen geldig EDIFACT-bestand (segment %(segment)s): %(reason)s. Er is niets verwerkt."),
    "edifact.segment_missing": _("EDIFACT-bericht %(message)s mist segment %(tag)s. Er is niets verwerkt."),
    "edifact.bad_value": _("Segment %(segment)s (%(tag)s): '%(value)s' is geen geldige %(what)s. Er is niets "
                           "verwerkt."),
    "edifact.unknown_type": _("Berichtsoort %(kind)s (segment %(segment)s, UNH) wordt hier niet gelezen; verwacht: "
                              "%(expected)s. Er is niets verwerkt."),
    "edifact.other_supplier": _("Segment %(segment)s (NAD+SU): het bericht komt van '%(sender)s', niet van "
                                "%(supplier)s (%(expected)s). Er is niets verwerkt."),
    "edifact.unknown_line": _("Segment %(segment)s (RFF+LI): bestelregel '%(reference)s' is niet bij deze "
                              "leverancier besteld. Er is niets verwerkt."),
    "edifact.unknown_branch": _("Segment %(segment)s (GIR): vestigingscode '%(value)s' is onbekend. Er is niets "
                                "verwerkt."),
    "edifact.refused": _("Segment %(segment)s (%(tag)s): %(reason)s Er is niets verwerkt."),
    # Purchase suggestions and settings.
    "settings.ratio_invalid": _("Het aantal reserveringen per exemplaar moet tussen 0,5 en 100 liggen."),
    "settings.grace_invalid": _("Het aantal dagen tot rappel moet tussen 0 en 365 liggen."),
    "claim.not_flagged": _("Regel %(line)s staat niet op de rappellijst."),
}
