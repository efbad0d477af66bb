"""Suppliers and the library's accounts with them."""

import re

from django.db import IntegrityError, transaction

from collection.services import branch_of
from catalogue.normalise import ean13_valid
from core.errors import ServiceError, ServiceErrors

from ..models import EdiIdQualifier, Supplier, SupplierAccount
from .common import acquisitions_actor, percent_bp

_EDI_ID = re.compile(r"^[0-9A-Za-z]{1,35}$")
FIELDS = ("code", "name", "contact_name", "email", "phone", "address", "default_discount", "vat",
          "delivery_days", "edi_enabled", "edi_id", "edi_id_qualifier", "buyer_edi_id", "shelf_ready",
          "catalogue_source", "is_active")


def supplier_save(*, actor, supplier_id=None, code, name, contact_name="", email="", phone="", address="",
                  default_discount="0", vat="9", delivery_days=14, edi_enabled=False, edi_id="",
                  edi_id_qualifier=EdiIdQualifier.EAN, buyer_edi_id="", shelf_ready=False, catalogue_source="",
                  is_active=True):
    """Create (supplier_id None) or change a supplier. Percentages as text or number
    ('25', '12,5'); every problem at once."""
    acquisitions_actor(actor)
    code, name = (code or "").strip().upper(), (name or "").strip()
    errors = []
    if not code:
        errors.append(ServiceError("supplier.code_missing", field="code"))
    if not name:
        errors.append(ServiceError("supplier.name_missing", field="name"))
    discount_bp = vat_bp = None
    try:
        discount_bp = percent_bp(default_discount, "supplier.discount_invalid", "default_discount")
        if discount_bp >= 10000:
            raise ServiceError("supplier.discount_invalid", field="default_discount")
    except ServiceError as error:
        errors.append(error)
    try:
        vat_bp = percent_bp(vat, "supplier.vat_invalid", "vat")
    except ServiceError as error:
        errors.append(error)
    try:
        delivery_days = int(delivery_days)
        if not 0 <= delivery_days <= 365:
            raise ValueError
    except (TypeError, ValueError):
        errors.append(ServiceError("supplier.delivery_days_invalid", field="delivery_days"))
    edi_id, buyer_edi_id = (edi_id or "").strip(), (buyer_edi_id or "").strip()
    for field_name, value in (("edi_id", edi_id), ("buyer_edi_id", buyer_edi_id)):
        if value and not _EDI_ID.match(value):
            errors.append(ServiceError("supplier.edi_id_invalid", field=field_name, value=value))
    if edi_enabled and not (edi_id and buyer_edi_id):
        errors.append(ServiceError("supplier.edi_id_missing", field="edi_id"))
    if edi_id_qualifier not in EdiIdQualifier.values:
        errors.append(ServiceError("supplier.edi_id_invalid", field="edi_id_qualifier", value=edi_id_qualifier))
    if errors:
        raise ServiceErrors(errors)
    values = dict(code=code, name=name, contact_name=(contact_name or "").strip(), email=(email or "").strip(),
                  phone=(phone or "").strip(), address=(address or "").strip(), default_discount_bp=discount_bp,
                  vat_bp=vat_bp, delivery_days=delivery_days, edi_enabled=bool(edi_enabled), edi_id=edi_id,
                  edi_id_qualifier=edi_id_qualifier, buyer_edi_id=buyer_edi_id, shelf_ready=bool(shelf_ready),
                  catalogue_source=(catalogue_source or "").strip()[:64] or f"LEV-{code}"[:64],
                  is_active=bool(is_active), actor_ref=actor.ref)
    try:
        with transaction.atomic():
            if supplier_id is None:
                return Supplier.objects.create(**values)
            supplier = Supplier.objects.select_for_update().filter(pk=supplier_id).first()
            if supplier is None:
                raise ServiceError("supplier.not_found")
            for key, value in values.items():
                setattr(supplier, key, value)
            supplier.save()
            return supplier
    except IntegrityError:
        raise ServiceError("supplier.code_taken", field="code", value=code) from None


def _san_ok(code):
    """ISO 10449 SAN: six digits and a mod-11 check character (X for 10), weights 7..2."""
    if not re.fullmatch(r"[0-9]{6}[0-9X]", code):
        return False
    check = (11 - sum(int(digit) * weight for digit, weight in zip(code[:6], range(7, 1, -1))) % 11) % 11
    return code[6] == ("X" if check == 10 else str(check))


def _check_location(code, qualifier):
    """A delivery location goes out as NAD+DP with the supplier's kind of code, so it must
    be a valid code of that kind: a mistyped digit would send the books elsewhere."""
    # A GLN has an EAN-13's check digit (ASCII digits only: str.isdigit() takes others too).
    if qualifier == EdiIdQualifier.EAN and not (re.fullmatch(r"[0-9]{13}", code) and ean13_valid(code)):
        raise ServiceError("supplier.delivery_location_invalid", field="delivery_location", value=code, kind="GLN")
    if qualifier == EdiIdQualifier.SAN and not _san_ok(code):
        raise ServiceError("supplier.delivery_location_invalid", field="delivery_location", value=code, kind="SAN")
    if not _EDI_ID.match(code):
        raise ServiceError("supplier.edi_id_invalid", field="delivery_location", value=code)


def supplier_account_save(*, actor, supplier_id, branch_id, account_number, delivery_location=""):
    """The library's customer number at a supplier for one of its branches (replaces an earlier one)."""
    organisation = acquisitions_actor(actor)
    supplier = Supplier.objects.filter(pk=supplier_id).first()
    if supplier is None:
        raise ServiceError("supplier.not_found")
    branch = branch_of(organisation, branch_id)
    account_number = (account_number or "").strip()
    if not account_number:
        raise ServiceError("supplier.account_missing", field="account_number")
    delivery_location = (delivery_location or "").strip().upper()
    if delivery_location:
        _check_location(delivery_location, supplier.edi_id_qualifier)
    account, _ = SupplierAccount.objects.update_or_create(
        supplier=supplier, branch_id=branch.pk,
        defaults={"account_number": account_number[:40], "delivery_location": delivery_location})
    return account
