"""The customer's address book. Every lookup goes through the owner, so another
customer's address is simply not found (404), never "forbidden"."""
from __future__ import annotations

from sqlalchemy import select, update

from .. import audit
from ..errors import InvalidInput, NotFound
from ..extensions import db
from .models import Address, User

#: Countries whose postal addresses need these fields beyond name, street and city.
REQUIRED_BY_COUNTRY = {
    "US": ("region", "postal_code"), "CA": ("region", "postal_code"), "GB": ("postal_code",),
    "DE": ("postal_code",), "FR": ("postal_code",), "NL": ("postal_code",), "AT": ("postal_code",),
    "BE": ("postal_code",), "CH": ("postal_code",), "ES": ("postal_code",), "IT": ("postal_code",),
    "PL": ("postal_code",), "PT": ("postal_code",), "SE": ("postal_code",), "DK": ("postal_code",),
    "FI": ("postal_code",), "NO": ("postal_code",),
}
FIELD_LABELS = {"region": "State / region", "postal_code": "Postal code"}
FIELDS = ("full_name", "company", "line1", "line2", "city", "region", "postal_code", "country", "phone")


def missing_fields(values: dict) -> list[str]:
    return [f for f in REQUIRED_BY_COUNTRY.get(values.get("country", ""), ()) if not (values.get(f) or "").strip()]


def get_address(user: User, address_id: int) -> Address:
    address = db.session.scalar(select(Address).where(Address.id == address_id, Address.user_id == user.id))
    if address is None:
        raise NotFound("That address does not exist.")
    return address


def save_address(user: User, values: dict, address: Address | None = None) -> Address:
    missing = missing_fields(values)
    if missing:
        names = ", ".join(FIELD_LABELS[f] for f in missing)
        raise InvalidInput(f"{names} required for addresses in {values['country']}.")
    creating = address is None
    address = address or Address(user_id=user.id)
    for field in FIELDS:
        setattr(address, field, (values.get(field) or "").strip())
    address.country = address.country.upper()
    if creating:
        db.session.add(address)
    db.session.flush()
    first = db.session.scalar(select(Address.id).where(Address.user_id == user.id, Address.id != address.id)) is None
    _set_defaults(user, address, values.get("is_default_shipping") or first, values.get("is_default_billing") or first)
    audit.record("account.address_saved", actor=user, target_type="address", target_id=address.id)
    db.session.commit()
    return address


def _set_defaults(user: User, address: Address, shipping: bool, billing: bool) -> None:
    if shipping:
        db.session.execute(update(Address).where(Address.user_id == user.id).values(is_default_shipping=False))
        address.is_default_shipping = True
    if billing:
        db.session.execute(update(Address).where(Address.user_id == user.id).values(is_default_billing=False))
        address.is_default_billing = True


def delete_address(user: User, address_id: int) -> None:
    address = get_address(user, address_id)
    db.session.delete(address)
    audit.record("account.address_deleted", actor=user, target_type="address", target_id=address_id)
    db.session.commit()


def list_addresses(user: User) -> list[Address]:
    return db.session.scalars(select(Address).where(Address.user_id == user.id).order_by(Address.id)).all()
