"""Every write of acquisitions: suppliers, funds, order lists and orders, the
EDIFACT messages, receipt into items, invoices and claims.

Every service takes the `actor` (core.actors), works in the actor's library's
schema and needs the acquisitions role (actor.no_role otherwise); the nightly
claim run is the system's. Refusals are core.errors.ServiceError codes
(ordering/errors.py); a service that raises has changed nothing. Row locks are
taken in one order: order, then its lines (by primary key), then funds (by
primary key); items are added through collection.services.item_add after that.
"""
