"""Circulation's codes: every refusal of the lending, hold and rule services, and
the check-in routing and notes, each with its Dutch sentence (core.errors).

The sentences are the ones the desk has always shown; the values they name are
parameters. Check-in routing (route.*) is the big sign at the desk: shown in
capitals (CheckinResult.message upper-cases the branch or status it names).
"""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    # --- the card at the desk (circulation.borrowers.borrower_find) --------------------------------------------
    "borrower.no_card": _("Scan eerst de pas van het lid."),
    "borrower.erased": _("Deze pas hoort bij een gewist lid en is niet meer geldig."),
    "borrower.card_replaced": _("Pas %(card)s is vervangen (%(reason)s) en is niet meer geldig; vraag om de nieuwe "
                                "pas."),
    "borrower.card_is_item": _("%(card)s is de barcode van een exemplaar, geen pas. Scan eerst de pas van het lid."),
    "borrower.card_unknown": _("Pas %(card)s is onbekend: niet van deze bibliotheek en niet in de landelijke "
                               "pasindex."),
    "borrower.card_invalid_here": _("Pas %(card)s is niet meer geldig bij %(library)s."),
    "borrower.card_blocked_at_home": _("Pas %(card)s is geblokkeerd door %(home)s (vervangen of verloren)."),
    "borrower.home_not_in_lsb": _("%(home)s doet (nog) niet mee aan LSB; deze pas kan hier niet lenen."),
    "borrower.card_invalid_at_home": _("Pas %(card)s is niet (meer) geldig bij %(home)s."),
    # Why a guest may not borrow now, as their home library says it (the members app's
    # reason and its code as reason_code). An own member's reasons are the members app's codes.
    "borrower.blocked_at_home": _("Bij de eigen bibliotheek (%(home)s): %(reason)s"),
    "borrower.merged": _("Dit lid is samengevoegd met een ander lid; gebruik de pas van dat lid."),
    # --- a library organisation as borrower (the lending side of interlibrary loan: borrower_library) -----------
    "borrower.library_unknown": _("Bibliotheekorganisatie %(library)s is onbekend in LSB."),
    "borrower.library_self": _("%(name)s kan niet aan zichzelf uitlenen; kies een andere bibliotheek."),
    "borrower.library_inactive": _("%(name)s doet (nog) niet mee aan LSB; er kan niet aan worden uitgeleend."),
    "borrower.library_reference_too_long": _("De referentie van de bibliotheek mag hoogstens %(max)s tekens lang "
                                             "zijn."),
    # --- the scanned item --------------------------------------------------------------------------------------
    "scan.no_barcode": _("Scan de barcode van een exemplaar."),
    "scan.card_not_item": _("%(barcode)s is een pasnummer, geen exemplaar. Scan de barcode van het boek."),
    "scan.item_unknown": _("Exemplaar %(barcode)s is onbekend in deze bibliotheek."),
    # --- checkout refusals (several at once: circulation.services.loans.CirculationRefused) --------------------
    "checkout.on_loan_to_other": _("Exemplaar %(barcode)s is al uitgeleend aan een ander lid. Neem het eerst in."),
    "checkout.withdrawn": _("Exemplaar %(barcode)s is afgeschreven en kan niet worden uitgeleend."),
    "checkout.missing": _("Exemplaar %(barcode)s staat als vermist geregistreerd."),
    "checkout.damaged": _("Exemplaar %(barcode)s is als beschadigd gemeld."),
    "checkout.in_processing": _("Exemplaar %(barcode)s is nog in bewerking."),
    "checkout.in_transit": _("Exemplaar %(barcode)s is onderweg naar een andere vestiging."),
    "checkout.on_interlibrary_loan": _("Exemplaar %(barcode)s is uitgeleend aan een andere bibliotheek (IBL)."),
    "checkout.held_for_other": _("Exemplaar %(barcode)s ligt klaar voor een ander lid (reservering)."),
    "checkout.travels_for_other": _("Exemplaar %(barcode)s is onderweg voor een reservering van een ander lid."),
    "checkout.not_for_loan": _("Exemplaar %(barcode)s is niet uitleenbaar."),
    "checkout.limit_total": _("Het maximum van %(max)s exemplaren tegelijk is bereikt."),
    "checkout.limit_type": _("Het maximum van %(max)s exemplaren van de soort %(item_type)s is bereikt."),
    "checkout.national_limit": _("Het landelijke maximum van %(max)s exemplaren tegelijk op één pas (in alle "
                                 "bibliotheken samen) is bereikt."),
    "checkout.override_not_allowed": _("Alleen een baliecoördinator mag een uitzondering maken."),
    # A question, not a rule: desk staff confirm it (checkout's `confirmed`).
    "checkout.waiting_hold": _("Op %(title)s wacht een reservering van een ander lid, en dit exemplaar kan die "
                               "vullen. Bevestig om het toch uit te lenen."),
    "checkout.fee_not_acknowledged": _("Hiervoor betaalt u %(fee)s leengeld. Bevestig dat u dit wilt betalen."),
    # --- loans: renewal, lost, claims returned -----------------------------------------------------------------
    "loan.not_found": _("Deze uitlening bestaat niet of is al beëindigd."),
    "loan.ended_meanwhile": _("Deze uitlening is intussen al beëindigd."),
    "loan.max_renewals": _("%(title)s: al %(renewals)s keer verlengd, het maximum is %(max)s."),
    "loan.held_for_other": _("%(title)s: een ander lid heeft dit gereserveerd."),
    "loan.renewal_too_early": _("%(title)s: verlengen geeft nu geen latere inleverdatum (nu al %(due_on)s)."),
    "loan.replacement_price_missing": _("Dit exemplaar heeft geen prijs; vul de vervangingsprijs in."),
    "loan.replacement_price_invalid": _("De vervangingsprijs moet een bedrag in centen van 0 of meer zijn."),
    # --- check-in: where the copy goes (the sign at the desk, in capitals) -------------------------------------
    "route.shelf": _("TERUG IN DE KAST"),
    "route.transit": _("TRANSPORT NAAR %(branch)s"),
    "route.hold_shelf": _("RESERVERINGSPLANK"),
    "route.hold_transit": _("RESERVERING — TRANSPORT NAAR %(branch)s"),
    "route.keep": _("%(status)s — LEG APART"),
    "route.keep_interlibrary_loan": _("IBL — NAAR DE IBL-BAK"),
    "route.keep_damaged": _("BESCHADIGD — NAAR COLLECTIEBEHEER"),
    # --- check-in: notes under the sign ------------------------------------------------------------------------
    "checkin.late_fine": _("Te laat ingeleverd: %(fine)s boete op de rekening gezet."),
    "checkin.withdrawn": _("Dit exemplaar is afgeschreven; geef het aan de collectiemedewerker."),
    "checkin.status_not_on_loan": _("Dit exemplaar heeft de status %(status)s; het was niet uitgeleend."),
    "checkin.on_interlibrary_loan": _("Dit exemplaar is aan een andere bibliotheek uitgeleend (IBL)."),
    # held_for: "pas <card>" for a member, the library and its request for interlibrary loan.
    "checkin.ready_already": _("Ligt al klaar voor %(held_for)s tot %(until)s."),
    "checkin.on_loan_without_loan": _("Stond als uitgeleend zonder uitlening; status hersteld."),
    "checkin.found_after_ending": _("Was als %(ending)s gemeld; teruggevonden."),
    "checkin.lost_charge_reversed": _("De vergoeding voor verlies (%(amount)s) is teruggeboekt op de rekening van de "
                                      "lener."),
    "checkin.lost_charge_reversed_fee_kept": _("De vergoeding voor verlies is teruggeboekt op de rekening van de "
                                               "lener (%(amount)s); %(fee)s verwerkingskosten blijven staan."),
    "checkin.lost_charge_kept": _("De vergoeding voor verlies blijft staan als verwerkingskosten (%(fee)s)."),
    "checkin.missing_found": _("Stond als vermist geregistreerd; teruggevonden."),
    "checkin.damage_reported": _("Er is een beschadiging gemeld terwijl het uitgeleend was; geef het aan de "
                                 "collectiemedewerker."),
    "checkin.not_on_loan": _("Was niet uitgeleend."),
    "checkin.floating": _("Zwevende collectie: blijft in deze vestiging."),
    "checkin.hold_transit": _("Gereserveerd door %(held_for)s; ophalen in %(branch)s."),
    "checkin.hold_ready": _("Voor pas %(card)s (%(name)s); ligt klaar tot en met %(until)s."),
    "checkin.library_hold_ready": _("Voor %(held_for)s; klaarzetten om te versturen tot en met %(until)s."),
    # --- holds -------------------------------------------------------------------------------------------------
    "hold.member_may_not_reserve": _("Dit lid kan nu niet reserveren:"),
    "hold.title_missing": _("Kies een titel of een exemplaar om te reserveren."),
    "hold.limit": _("Het maximum van %(max)s lopende reserveringen is bereikt."),
    "hold.not_needed_after_past": _("Kies voor 'niet meer nodig na' een datum na vandaag."),
    "hold.not_needed_after_too_far": _("'Niet meer nodig na' kan hoogstens twee jaar vooruit."),
    "hold.duplicate": _("%(name)s heeft %(title)s al gereserveerd."),
    "hold.library_duplicate": _("%(name)s heeft %(title)s al gereserveerd voor deze aanvraag."),
    "hold.already_on_loan": _("%(name)s heeft %(title)s nu al geleend."),
    "hold.item_not_holdable": _("Exemplaar %(barcode)s kan niet worden gereserveerd (status %(status)s of niet "
                                "reserveerbaar)."),
    "hold.no_holdable_copies": _("Van %(title)s heeft deze bibliotheek geen exemplaren die gereserveerd kunnen "
                                 "worden."),
    "hold.not_found": _("Deze reservering bestaat niet."),
    "hold.closed": _("Deze reservering is al afgesloten."),
    "hold.suspend_date_not_future": _("Kies een datum in de toekomst om de reservering tot op te schorten."),
    "hold.suspend_too_long": _("Een reservering kan hoogstens een jaar worden opgeschort."),
    "hold.suspend_not_waiting": _("Alleen een wachtende reservering kan worden opgeschort."),
    "hold.not_suspended": _("Deze reservering is niet opgeschort."),
    "hold.pickup_not_waiting": _("Alleen bij een wachtende reservering kan de ophaalvestiging nog worden "
                                 "gewijzigd."),
    "hold.pickup_unchanged": _("De reservering wordt al opgehaald in %(branch)s."),
    "hold.queue_reason_missing": _("Geef een reden om de volgorde van de wachtrij te veranderen."),
    "hold.queue_not_waiting": _("Alleen wachtende reserveringen kunnen in de wachtrij worden verplaatst."),
    "hold.queue_other_title": _("Kies een andere reservering van dezelfde titel."),
    "hold.pick_copy_not_on_shelf": _("Exemplaar %(barcode)s staat niet als beschikbaar in de kast (status "
                                     "%(status)s); het kan niet als niet gevonden worden gemeld."),
    # --- the loan-rule matrix and the circulation settings -----------------------------------------------------
    "loan_rule.number_out_of_range": _("%(label)s moet een geheel getal van %(low)s tot en met %(high)s zijn."),
    "loan_rule.amount_out_of_range": _("%(label)s (tot %(max)s) moet een geheel getal van %(low)s tot en met "
                                       "%(high)s zijn."),
    "loan_rule.item_type_unknown": _("Kies een bestaande soort materiaal."),
    "loan_rule.guests_no_category": _("Een regel voor gastleners geldt voor alle gastleners: kies geen "
                                      "ledencategorie."),
    "loan_rule.age_group_unknown": _("Kies jeugd of volwassenen als leeftijdsgroep van gastleners."),
    "loan_rule.age_group_guests_only": _("Een leeftijdsgroep (jeugd, volwassenen) geldt alleen voor een regel voor "
                                         "gastleners; voor eigen leden kiest u een ledencategorie."),
    "loan_rule.libraries_no_category": _("Een regel voor bibliotheken (IBL) geldt voor alle bibliotheken: kies geen "
                                         "ledencategorie en geen gastleners."),
    "loan_rule.category_unknown": _("Kies een ledencategorie van deze bibliotheek."),
    "loan_rule.fine_max_below_per_day": _("De maximale boete mag niet lager zijn dan de boete per dag."),
    "loan_rule.not_found": _("Deze regel bestaat niet (meer)."),
    "loan_rule.duplicate": _("Er is al een regel voor precies deze combinatie; pas die aan."),
    "circulation_settings.floating_type_unknown": _("Kies bestaande soorten materiaal voor de zwevende collectie."),
    # --- why a member cannot be erased yet (members.selectors.privacy's registry) ------------------------------
    "erasure.loans_open": _("Het lid heeft nog %(count)s exemplaar/exemplaren geleend; neem die eerst in."),
    "erasure.loans_elsewhere": _("Het lid heeft nog exemplaren geleend bij %(library)s; die moeten eerst worden "
                                 "ingeleverd."),
    "erasure.holds_active": _("Het lid heeft nog %(count)s lopende reservering(en); annuleer die eerst."),
    # Another library's copy here on interlibrary loan (circulation.interlibrary, services/interlibrary.py).
    "checkout.ibl_copy_members_only": _("Exemplaar %(barcode)s is van een andere bibliotheek (IBL) en wordt alleen "
                                        "uitgeleend aan het lid dat het heeft aangevraagd."),
    "hold.ibl_member_gone": _("Het lid voor IBL-exemplaar %(barcode)s is niet meer ingeschreven; stuur het terug."),
    "scan.item_of_other_library": _("Exemplaar %(barcode)s is van %(library)s, niet van deze bibliotheek: leg het "
                                    "in de IBL-krat, de POI brengt het terug."),
}
