"""The collection services' refusals: code -> Dutch sentence (core.errors)."""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    # A branch of this library (collection.services.branch_of; circulation uses it too).
    # `label` names the branch in the sentence ("Vestiging", "De ophaalvestiging", ...).
    "branch.choose": _("Kies een vestiging van %(library)s."),
    "branch.other_library": _("%(label)s hoort niet bij %(library)s."),
    "branch.inactive": _("%(label)s %(branch)s is niet actief."),
    # Scanned barcodes.
    "item.barcode_invalid": _("Barcode '%(barcode)s' is ongeldig: een barcode bestaat uit 5 tot 20 letters en "
                              "cijfers."),
    "item.no_barcodes": _("Scan minstens één barcode."),
    "item.barcode_scanned_twice": _("Barcode '%(barcode)s' is twee keer gescand."),
    "item.barcode_in_use": _("Barcode '%(barcode)s' is al in gebruik (exemplaar van '%(title)s')."),
    "item.barcode_added_meanwhile": _("Barcode '%(barcode)s' is zojuist elders toegevoegd."),
    "item.add_failed": _("De exemplaren konden niet worden toegevoegd; probeer het opnieuw."),
    # An item's fields.
    "item.type_unknown": _("Onbekende soort exemplaar: '%(item_type)s'."),
    "item.collection_unknown": _("Onbekende collectie: '%(collection)s'."),
    "item.not_found": _("Exemplaar %(barcode)s bestaat niet in deze bibliotheek."),
    "item.withdrawn_not_editable": _("Exemplaar %(barcode)s is afgeschreven en kan niet meer worden gewijzigd."),
    "item.withdrawn_not_movable": _("Exemplaar %(barcode)s is afgeschreven en kan niet worden verplaatst."),
    "item.already_there": _("Exemplaar %(barcode)s staat al in %(branch)s, %(place)s."),
    # Status changes.
    "item.status_unknown": _("Onbekende status '%(status)s'."),
    "item.withdraw_needs_reason": _("Afschrijven gaat met een reden: gebruik Afschrijven."),
    "item.status_unchanged": _("Exemplaar %(barcode)s heeft de status %(status)s al."),
    "item.status_not_allowed": _("Exemplaar %(barcode)s: de status kan niet van %(from_status)s naar "
                                 "%(to_status)s."),
    "item.not_in_processing": _("Exemplaar %(barcode)s is niet in bewerking (status: %(status)s)."),
    # A copy that is out keeps its loan, hold or transfer: no status by hand (item_status_change).
    "item.status_by_circulation": _("De status %(status)s zet de uitleen (uitlenen, innemen, reserveringen), niet "
                                    "een medewerker met de hand."),
    "item.status_out_on_loan": _("Exemplaar %(barcode)s is uitgeleend: neem het eerst in (of meld het verloren bij "
                                 "de uitlening); de status is niet gewijzigd. Beschadigd melden kan wel."),
    "item.status_out_on_hold_shelf": _("Exemplaar %(barcode)s ligt op de reserveringsplank voor een reservering: "
                                       "annuleer eerst de reservering of neem het in; de status is niet gewijzigd."),
    "item.status_out_in_transit": _("Exemplaar %(barcode)s is onderweg naar een andere vestiging: neem het in "
                                    "waar het aankomt; de status is niet gewijzigd."),
    "item.status_out_on_interlibrary_loan": _("Exemplaar %(barcode)s is uitgeleend aan een andere bibliotheek "
                                              "(IBL): neem het in als het terug is; de status is niet gewijzigd. "
                                              "Beschadigd melden kan wel."),
    "item.damage_already_reported": _("Bij exemplaar %(barcode)s is op %(at)s al een beschadiging gemeld."),
    # Withdrawing (afschrijven).
    "item.withdrawal_reason_missing": _("Kies een reden voor het afschrijven."),
    "item.withdraw_on_loan": _("Exemplaar %(barcode)s is uitgeleend; neem het eerst in: niet afgeschreven."),
    "item.withdraw_on_hold_shelf": _("Exemplaar %(barcode)s staat op de reserveringsplank voor een lid: niet "
                                     "afgeschreven."),
    "item.withdraw_in_transit": _("Exemplaar %(barcode)s is onderweg naar een andere vestiging: niet "
                                  "afgeschreven."),
    "item.withdraw_on_interlibrary_loan": _("Exemplaar %(barcode)s is uitgeleend aan een andere bibliotheek (IBL): "
                                            "niet afgeschreven."),
    "item.withdraw_already": _("Exemplaar %(barcode)s is al afgeschreven: niet afgeschreven."),
    # Stocktakes.
    "stocktake.shelf_missing": _("Geef de plaats (kast/plank) op die u gaat scannen."),
    "stocktake.not_found": _("Deze inventarisatie bestaat niet."),
    "stocktake.finished": _("Deze inventarisatie is al afgerond."),
    # Another library's copy here on interlibrary loan (collection.interlibrary).
    "item.ibl_copy_own_library": _("Exemplaar %(barcode)s is van deze bibliotheek zelf, niet van een andere."),
    "item.ibl_barcode_own": _("Barcode %(barcode)s is hier in gebruik voor een eigen exemplaar; het IBL-exemplaar "
                              "kan niet worden ontvangen. Neem contact op met de uitlenende bibliotheek."),
    "item.ibl_copy_here": _("Exemplaar %(barcode)s van een andere bibliotheek is hier al ontvangen."),
}
