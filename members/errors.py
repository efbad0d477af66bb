"""The member services' refusals: code -> Dutch sentence (core.errors).

The sentences are exactly what the desk showed before the codes; values that
vary are parameters. Parameters that name a form label (`label`) are lazy Dutch
texts themselves, so they follow the active language too.
"""

from django.utils.translation import gettext_lazy as _

ERRORS = {
    # --- card numbers (registration, card replacement) --------------------------------
    "card.missing": _("Scan of typ het pasnummer."),
    "card.invalid": _("Pasnummer '%(card_number)s' is ongeldig: 6 tot 20 letters en cijfers."),
    "card.issued_here": _("Pasnummer %(card_number)s is al uitgegeven door deze bibliotheek."),
    "card.issued_elsewhere": _("Pasnummer %(card_number)s is al uitgegeven door een andere bibliotheek."),
    "card.issued_meanwhile": _("Pasnummer %(card_number)s is zojuist al uitgegeven; scan een andere pas."),
    "card.reason_missing": _("Geef de reden van de vervanging (bijvoorbeeld: verloren)."),
    "card.reason_too_long": _("De reden mag hoogstens %(max_length)s tekens lang zijn."),
    "card.fee_out_of_range": _("De kosten voor de nieuwe pas moeten tussen € 0,00 en %(max)s liggen."),

    # --- a member's data ------------------------------------------------------------------
    "member.not_found": _("Dit lid bestaat niet (meer)."),
    "member.merged": _("Dit lid is samengevoegd met een ander lid; wijzig dat lid."),
    "member.changed_meanwhile": _("Dit lid is intussen door iemand anders gewijzigd; laad de pagina opnieuw."),
    "member.text_too_long": _("%(label)s mag hoogstens %(max_length)s tekens lang zijn."),
    "member.first_name_missing": _("Vul de voornaam in."),
    "member.last_name_missing": _("Vul de achternaam in."),
    "member.birth_date_missing": _("Vul de geboortedatum in."),
    "member.birth_date_invalid": _("De geboortedatum is geen datum."),
    "member.birth_date_future": _("De geboortedatum ligt in de toekomst."),
    "member.birth_date_too_early": _("De geboortedatum ligt voor %(year)s; controleer het jaartal."),
    "member.postcode_invalid": _("'%(postcode)s' is geen geldige postcode (verwacht: 1234 AB)."),
    "member.email_invalid": _("'%(email)s' is geen geldig e-mailadres."),
    "member.email_too_long": _("Het e-mailadres is te lang."),
    "member.phone_invalid": _("'%(phone)s' is geen geldig telefoonnummer (alleen cijfers, spaties, - en +)."),
    "member.pin_missing": _("Vul een pincode in."),
    "member.pin_not_digits": _("De pincode mag alleen cijfers bevatten."),
    "member.pin_too_short": _("De pincode moet minstens %(min)s cijfers hebben."),
    "member.pin_too_long": _("De pincode mag hoogstens %(max)s cijfers hebben."),
    "member.branch_other_library": _("Kies een vestiging van deze bibliotheek."),
    "member.fields_not_own": _("U kunt alleen uw adres, contactgegevens, voorkeursvestiging, pincode en "
                               "toestemmingen zelf wijzigen."),
    "guardian.not_member": _("De ouder/verzorger is geen lid van deze bibliotheek."),
    "guardian.self": _("Een lid kan niet zijn eigen ouder/verzorger zijn."),
    "guardian.member_adult": _("Alleen een minderjarig lid heeft een ouder/verzorger."),
    "guardian.minor": _("De ouder/verzorger moet zelf 18 jaar of ouder zijn."),

    # --- why a member may not borrow or reserve now (members.selectors.ledger.member_may_borrow) ---
    "member.erased_may_not_borrow": _("De gegevens van dit lid zijn gewist."),
    "member.merged_may_not_borrow": _("Dit lid is samengevoegd met een ander lid; gebruik dat lidmaatschap."),
    "member.blocked_by_library": _("Geblokkeerd door de bibliotheek: %(reason)s"),
    "member.card_reported_lost": _("Pas als verloren gemeld: %(reason)s"),
    "member.balance_too_high": _("Openstaand saldo %(balance)s (de grens is %(limit)s)."),
    "member.membership_expired": _("Het lidmaatschap is verlopen op %(expires_on)s."),

    # --- membership -------------------------------------------------------------------------
    "membership.renew_too_early": _("Het lidmaatschap loopt al tot en met %(expires_on)s; verlengen kan pas in "
                                    "het laatste jaar."),
    "merge.same_member": _("Kies twee verschillende leden om samen te voegen."),
    "merge.member_gone": _("Een van beide leden bestaat niet (meer)."),
    "merge.already_merged": _("Lid %(card_number)s is al samengevoegd met een ander lid."),

    # --- categories and subscription types --------------------------------------------------
    "category.none_for_age": _("Deze bibliotheek heeft geen ledencategorie voor de leeftijd %(age)s; een "
                               "beheerder legt die vast bij Categorieën en abonnementen."),
    "category.missing_for_age": _("Deze bibliotheek heeft geen ledencategorie voor de leeftijd %(age)s."),
    "category.default_subscription_mismatch": _("Het standaardabonnement van categorie %(category)s past niet "
                                                "bij de leeftijd %(age)s."),
    "category.unknown": _("Deze categorie bestaat niet."),
    "category.code_taken": _("Er is al een categorie met code %(taken_code)s."),
    "category.min_age_out_of_range": _("De beginleeftijd ligt tussen 0 en 150."),
    "category.max_age_out_of_range": _("De eindleeftijd ligt tussen 0 en 150 (of laat hem leeg)."),
    "category.max_before_min": _("De eindleeftijd ligt voor de beginleeftijd."),
    "category.spans_adult_age": _("Een categorie ligt geheel onder de 18 of geheel vanaf 18 jaar (leden onder de "
                                  "18 zijn gratis lid)."),
    "category.default_subscription_missing": _("Kies het standaardabonnement."),
    "category.youth_needs_youth_subscription": _("Een jeugdcategorie heeft een (gratis) jeugdabonnement als "
                                                 "standaard."),
    "category.adult_no_youth_subscription": _("Een categorie vanaf 18 jaar kan geen jeugdabonnement als standaard "
                                              "hebben."),
    "category.ages_overlap": _("De leeftijden overlappen met categorie %(category)s (%(ages)s)."),
    "subscription.unknown": _("Dit abonnement bestaat niet."),
    "subscription.inactive": _("Het abonnement %(subscription)s wordt niet meer aangeboden."),
    "subscription.youth_required": _("Leden onder de 18 zijn gratis lid: kies een jeugdabonnement in plaats van "
                                     "%(subscription)s."),
    "subscription.youth_only": _("%(subscription)s is een jeugdabonnement; dat is alleen voor leden onder de 18."),
    "subscription.code_taken": _("Er is al een abonnement met code %(taken_code)s."),
    "subscription.fee_out_of_range": _("De jaarbijdrage moet tussen € 0,00 en %(max)s liggen."),
    "subscription.youth_not_free": _("Een jeugdabonnement is gratis: leden onder de 18 betalen geen jaarbijdrage."),
    "subscription.max_loans_out_of_range": _("Het maximale aantal leningen ligt tussen 1 en 999."),
    "subscription.default_stays_active": _("Dit abonnement is het standaardabonnement van een categorie en blijft "
                                           "dus actief."),
    "subscription.default_must_be_youth": _("Dit abonnement is het standaardabonnement van categorie "
                                            "%(category)s en moet daarom een jeugdabonnement zijn."),
    "subscription.default_must_be_adult": _("Dit abonnement is het standaardabonnement van categorie "
                                            "%(category)s en moet daarom geen jeugdabonnement zijn."),
    "subscription.kind_has_members": _("Er zijn leden met dit abonnement; het kan niet van jeugd- naar "
                                       "volwassenenabonnement (of omgekeerd) worden omgezet."),
    "members_setup.code_invalid": _("De code bestaat uit hoogstens 30 kleine letters, cijfers, - of _."),
    "members_setup.name_invalid": _("Vul een naam in van hoogstens 100 tekens."),

    # --- the account: charges, payments, waivers ------------------------------------------
    "ledger.amount_not_whole_cents": _("Het bedrag moet een geheel aantal centen zijn."),
    "ledger.amount_not_positive": _("Het bedrag moet groter zijn dan € 0,00."),
    "ledger.amount_too_high": _("Het bedrag mag niet hoger zijn dan %(max)s."),
    "ledger.member_erased": _("De gegevens van dit lid zijn gewist; er kan niets meer worden geboekt."),
    "ledger.member_merged": _("Dit lid is samengevoegd met een ander lid; boek op dat lidmaatschap."),
    "charge.type_missing": _("Kies een soort kosten."),
    "payment.method_missing": _("Kies hoe er betaald is: contant, pin of online."),
    "waiver.reason_missing": _("Geef een reden voor de kwijtschelding."),
    "waiver.not_a_charge": _("Alleen kosten kunnen worden kwijtgescholden."),
    "waiver.already_waived": _("Deze kosten zijn al helemaal kwijtgescholden."),
    "waiver.more_than_open": _("U kunt hoogstens %(open)s van deze kosten kwijtschelden (wat er nog openstaat)."),
    "waiver.no_balance": _("Dit lid heeft geen openstaand saldo; er valt niets kwijt te schelden."),
    "waiver.more_than_balance": _("U kunt hoogstens %(balance)s kwijtschelden: de rest van deze kosten is al "
                                  "betaald."),
    "waiver.over_desk_limit": _("Baliemedewerkers mogen per kostenpost hoogstens %(limit)s kwijtschelden; vraag "
                                "een bibliotheekbeheerder."),

    # --- blocks and the member rules --------------------------------------------------------
    "block.reason_missing": _("Geef de reden van de blokkade."),
    "block.lifts_itself": _("Deze blokkade vervalt vanzelf zodra het saldo onder de grens is of het lidmaatschap "
                            "verlengd is."),
    "block.already_lifted": _("Deze blokkade is al opgeheven."),
    "member_rules.balance_block_out_of_range": _("De saldogrens moet tussen € 0,00 en %(max)s liggen."),
    "member_rules.retention_out_of_range": _("De bewaartermijn moet tussen 0 en %(max)s dagen liggen."),

    # --- privacy: export and erasure ---------------------------------------------------------
    "member_export.erased": _("Dit lid is gewist: er zijn geen persoonsgegevens meer om uit te voeren."),
    "erasure.already_erased": _("Dit lid is al gewist."),
    "erasure.merged_record": _("Dit is een samengevoegd dubbel record; wis het lid waarin het is opgegaan."),
    "erasure.balance_open": _("Er staat nog %(amount)s open op de rekening; laat dit eerst betalen of "
                              "kwijtschelden."),
    "erasure.credit_open": _("Het lid heeft nog %(amount)s tegoed; betaal dit eerst terug."),

    # --- bulk import (CSV) ---------------------------------------------------------------------
    "member_import.not_utf8": _("Het bestand is geen UTF-8-tekst; sla het op als CSV (UTF-8)."),
    "member_import.empty": _("Het bestand is leeg."),
    "member_import.columns_missing": _("Verplichte kolom(men) ontbreken: %(columns)s."),
    "member_import.columns_unknown": _("Onbekende kolom(men): %(columns)s."),
    "member_import.columns_twice": _("Kolom(men) komen dubbel voor: %(columns)s."),
    "member_import.not_csv": _("Regel %(line)s: het bestand is geen geldige CSV (%(error)s)."),
    "member_import.column_empty": _("%(column)s is leeg."),
    "member_import.not_a_date": _("%(label)s '%(value)s' is geen datum (dd-mm-jjjj)."),
    "member_import.not_yes_no": _("%(label)s: '%(value)s' is geen ja of nee."),
    "member_import.subscription_unknown": _("Abonnement '%(value)s' bestaat niet bij %(library)s."),
    "member_import.branch_unknown": _("Vestiging '%(value)s' hoort niet bij %(library)s."),
    "member_import.card_twice_in_file": _("Pasnummer staat al op regel %(row)s van dit bestand."),
}

# --- member sign-in (members.services.auth) -------------------------------------------
ERRORS |= {
    "auth.invalid": _("Pasnummer of pincode klopt niet."),
    "auth.locked": _("Deze pas is tijdelijk geblokkeerd na te veel mislukte pogingen; probeer het na "
                     "%(until)s opnieuw of vraag het aan de balie."),
    "auth.address_locked": _("Te veel mislukte aanmeldpogingen vanaf dit adres; probeer het later opnieuw."),
}

# --- online registration and PIN reset (members.services.online) ----------------------------
ERRORS |= {
    "member.registration_unconfirmed": _("De online inschrijving is nog niet bevestigd door de bibliotheek."),
    "auth.email_unverified": _("Bevestig eerst uw e-mailadres met de link in de e-mail die we u stuurden."),
    "online.email_missing": _("Vul uw e-mailadres in: we sturen u een link om het te bevestigen."),
    "online.address_missing": _("Vul uw volledige adres in (straat, huisnummer, postcode en plaats)."),
    "online.house_number_invalid": _("'%(value)s' is geen geldig huisnummer (bijvoorbeeld 12, 12a of 12-2)."),
    "online.pin_repeat_differs": _("De twee pincodes zijn niet gelijk."),
    "online.guardian_email_invalid": _("Het e-mailadres van de ouder of verzorger is niet geldig."),
    "online.subscription_missing": _("Kies een abonnement."),
    "online.link_invalid": _("Deze link is ongeldig of al gebruikt."),
    "online.link_expired": _("Deze link is verlopen. Vraag een nieuwe aan."),
    "online.not_registered_online": _("Dit lid heeft zich niet online ingeschreven."),
    "online.already_confirmed": _("Deze inschrijving is al bevestigd."),
    # What another library is told about a guest who may not borrow (members.selectors.guests): a category only.
    "guest.blocked_by_home": _("geblokkeerd door de eigen bibliotheek."),
    "guest.balance_too_high": _("openstaand saldo boven de grens van de eigen bibliotheek."),
    "guest.membership_expired": _("lidmaatschap verlopen."),
    "guest.card_replaced": _("pas vervangen, als verloren gemeld of niet meer geldig."),
    "member_rules.guest_charge_max_out_of_range": _("Het maximum per kostenpost van een andere bibliotheek moet "
                                                    "tussen € 0,00 en %(max)s liggen."),
}
