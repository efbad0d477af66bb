"""Interlibrary loan's codes (core.errors): refusals of the IBL services, and the
signs the desk, the IBL desk and the hub screen show (ibl.sign_*, ibl.route_*:
shown in capitals) with their notes (ibl.note_*)."""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    # --- requests ----------------------------------------------------------------------------------------------
    "ibl.not_found": _("Deze IBL-aanvraag bestaat niet."),
    "ibl.title_unknown": _("Titel %(title_id)s staat niet in de landelijke catalogus."),
    "ibl.member_unknown": _("Dit lid is niet (meer) ingeschreven."),
    "ibl.member_may_not_request": _("Dit lid kan nu geen IBL-aanvraag doen:"),
    "ibl.duplicate": _("Er loopt al een IBL-aanvraag van dit lid voor '%(title)s'."),
    "ibl.hold_exists": _("Het lid heeft '%(title)s' hier al gereserveerd."),
    "ibl.on_loan_already": _("Het lid heeft '%(title)s' al geleend."),
    "ibl.own_copy_holdable": _("%(library)s heeft zelf een exemplaar van '%(title)s' dat gereserveerd kan worden: "
                               "reserveer dat. Alleen de balie kan met een reden toch via IBL aanvragen."),
    "ibl.override_not_allowed": _("Alleen een baliemedewerker kan een IBL-aanvraag doen voor een titel die de "
                                  "bibliotheek zelf heeft."),
    "ibl.no_lender": _("Geen andere bibliotheek leent '%(title)s' nu uit via IBL."),
    "ibl.closed": _("Deze IBL-aanvraag is al afgesloten (%(state)s)."),
    "ibl.cancel_too_late": _("Deze IBL-aanvraag is al verstuurd (%(state)s) en kan niet meer worden geannuleerd."),
    # --- the lender -------------------------------------------------------------------------------------------
    "ibl.decline_reason_unknown": _("Kies waarom de bibliotheek het niet kan leveren."),
    "ibl.decline_reason_text_missing": _("Geef bij 'Anders' aan waarom."),
    "ibl.not_asked_here": _("Deze IBL-aanvraag ligt (niet meer) bij %(library)s."),
    "ibl.send_wrong_copy": _("Exemplaar %(barcode)s hoort niet bij deze IBL-aanvraag."),
    "ibl.send_no_request": _("Voor exemplaar %(barcode)s ('%(title)s') is geen IBL-aanvraag om te versturen."),
    "ibl.send_state": _("IBL-aanvraag %(reference)s is %(state)s en kan niet meer worden verstuurd; het exemplaar "
                        "is niet uitgeleend."),
    "ibl.sign_send": _("IBL — in de krat naar %(hub)s (voor %(destination)s)"),
    # --- the hub ----------------------------------------------------------------------------------------------
    "ibl.hub_not_allowed": _("U werkt niet bij %(hub)s."),
    "ibl.scan_empty": _("Scan de barcode van een exemplaar of het label van een krat."),
    "ibl.scan_unknown": _("%(parcel)s is geen exemplaar of krat in het IBL-transport. Leg het apart en meld het bij "
                          "de POI."),
    "ibl.scan_not_in_transport": _("%(parcel)s is nu niet onderweg (%(state)s). Leg het apart en meld het bij de "
                                   "POI."),
    "ibl.scan_several_owners": _("%(parcel)s is een barcode van meer bibliotheken (%(libraries)s). Leg het apart "
                                 "en meld het bij de POI."),
    "ibl.scan_no_home": _("%(parcel)s is van %(library)s, maar die heeft geen open vestiging. Leg het apart en meld "
                          "het bij de POI."),
    "ibl.sign_crate": _("Krat %(crate)s — naar %(destination)s"),
    "ibl.sign_stray_crate": _("Van %(library)s, gaat naar huis — krat %(crate)s naar %(destination)s"),
    "ibl.note_stray_home": _("Geen IBL: een eigen exemplaar van %(library)s, op de verkeerde plek ingeleverd. Het gaat "
                             "terug naar vestiging %(branch)s en is vastgelegd."),
    "ibl.sign_crate_rerouted": _("Verkeerd sorteercentrum — krat %(crate)s naar %(destination)s"),
    "ibl.sign_crate_sent": _("Krat %(crate)s vertrokken: %(count)s exemplaren naar %(destination)s"),
    "ibl.sign_crate_arrived": _("Krat %(crate)s aangekomen: scan de %(count)s exemplaren om ze te sorteren"),
    "ibl.note_scanned_again": _("Was hier al gescand; ligt nog te wachten op de krat."),
    "ibl.note_rerouted": _("Hoorde niet in %(hub)s; omgeleid en vastgelegd."),
    "ibl.crate_empty": _("Krat %(crate)s is leeg; scan eerst de exemplaren erin."),
    "ibl.crate_already_arrived": _("Krat %(crate)s is hier al binnengekomen; scan de exemplaren."),
    "ibl.crate_not_here": _("Krat %(crate)s hoort niet bij %(hub)s (of is al vertrokken)."),
    # --- receiving at a library -------------------------------------------------------------------------------
    "ibl.receive_already": _("Exemplaar %(barcode)s is hier al binnen (%(state)s)."),
    "ibl.receive_nothing": _("Exemplaar %(barcode)s wordt hier niet verwacht via IBL."),
    "ibl.receive_other_branch": _("Exemplaar %(barcode)s is bestemd voor vestiging %(branch)s; ontvang het daar."),
    # --- lending and taking back a lender's copy (circulation asks: ibl.policy) ---------------------------------
    "ibl.standin_unknown": _("Bij exemplaar %(barcode)s van een andere bibliotheek is geen IBL-aanvraag bekend."),
    "ibl.renewal_recalled": _("%(lender)s heeft dit exemplaar teruggeroepen; verlengen kan niet."),
    "ibl.renewal_refused": _("%(lender)s verlengt dit exemplaar niet: %(reason)s"),
    "ibl.renewal_too_early": _("'%(title)s' kan nog niet worden verlengd (inleverdatum %(due_on)s)."),
    "ibl.route_home": _("IBL — terug naar %(library)s (via %(hub)s)"),
    "ibl.route_gone": _("IBL — al onderweg terug naar %(library)s"),
    "ibl.note_stray_arrived": _("Door de POI teruggebracht (gevonden in %(hub)s); het transport is afgesloten."),
    "ibl.note_not_collected": _("Niet opgehaald door het lid; gaat terug naar de uitlener."),
    "ibl.note_home_early": _("Terug zonder inname bij de aanvrager (aanvraag was %(state)s)."),
    "ibl.note_completed": _("IBL-uitlening aan %(library)s afgerond."),
    # --- the desk and the terms -------------------------------------------------------------------------------
    "ibl.card_not_own": _("Pas %(card)s is niet van deze bibliotheek; het lid vraagt IBL aan bij de eigen "
                          "bibliotheek."),
    "ibl.terms_item_type_unknown": _("Onbekende soort materiaal: '%(item_type)s'."),
    "ibl.terms_months_invalid": _("Geef het aantal maanden als een getal van 0 tot %(max)s."),
    "ibl.terms_fee_invalid": _("'%(value)s' is geen bedrag; schrijf bijvoorbeeld 2,50."),
    # --- exceptions (ibl.services.exceptions) -----------------------------------------------------------------
    "ibl.loss_kind_unknown": _("Kies: verloren of beschadigd."),
    "ibl.loss_not_now": _("Deze aanvraag is %(state)s; er is geen exemplaar onderweg of uitgeleend om verloren te "
                          "melden."),
    "ibl.loss_not_allowed": _("Alleen wie het exemplaar nu heeft (de bibliotheek, het sorteercentrum of de POI) "
                              "kan het verloren of beschadigd melden."),
    "ibl.recall_not_now": _("Deze aanvraag is %(state)s; terugroepen kan alleen als het exemplaar bij de andere "
                            "bibliotheek is."),
    "ibl.recall_already": _("Dit exemplaar is al teruggeroepen."),
    "ibl.receive_wrong_library": _("Exemplaar %(barcode)s is van %(owner)s (IBL-aanvraag %(reference)s) en hoort "
                                   "niet hier: leg het in de IBL-krat; de POI brengt het naar %(library)s."),
}
