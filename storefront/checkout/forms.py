"""Checkout forms (field rules shared with the account's address book)."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField
from wtforms.validators import DataRequired, Length

from ..auth.forms import AddressForm


class ContactForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=191)])


class ShippingAddressForm(AddressForm):
    """The account's address form, without its address-book defaults."""

    is_default_shipping = None
    is_default_billing = None
    save_to_book = BooleanField("Save this address to my address book")
