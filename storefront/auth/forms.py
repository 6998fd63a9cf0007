from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

COUNTRIES = [SelectChoice(code, name) for code, name in (
    ("", "Choose…"), ("AT", "Austria"), ("BE", "Belgium"), ("CA", "Canada"), ("CH", "Switzerland"),
    ("DE", "Germany"), ("DK", "Denmark"), ("ES", "Spain"), ("FI", "Finland"), ("FR", "France"),
    ("GB", "United Kingdom"), ("IE", "Ireland"), ("IT", "Italy"), ("NL", "Netherlands"),
    ("NO", "Norway"), ("PL", "Poland"), ("PT", "Portugal"), ("SE", "Sweden"), ("US", "United States"))]


class RegisterForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=191)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=191)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    remember = BooleanField("Keep me signed in on this device")


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=32)])


class EmailForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=191)])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=256)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=256)])
    password = PasswordField("New password", validators=[DataRequired(), Length(max=256)])


class ChangeEmailForm(FlaskForm):
    email = EmailField("New e-mail", validators=[DataRequired(), Length(max=191)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class PasswordConfirmForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class DisableMfaForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    code = StringField("Code from your app or a recovery code", validators=[DataRequired(), Length(max=32)])


class ProfileForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=120)])


class InvitationForm(FlaskForm):
    name = StringField("Your name", validators=[Optional(), Length(max=120)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class AddressForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    company = StringField("Company", validators=[Optional(), Length(max=120)])
    line1 = StringField("Address", validators=[DataRequired(), Length(max=200)])
    line2 = StringField("Address line 2", validators=[Optional(), Length(max=200)])
    city = StringField("City", validators=[DataRequired(), Length(max=100)])
    region = StringField("State / region", validators=[Optional(), Length(max=100)])
    postal_code = StringField("Postal code", validators=[Optional(), Length(max=20)])
    country = SelectField("Country", choices=COUNTRIES, validators=[DataRequired()])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])
    is_default_shipping = BooleanField("Default shipping address")
    is_default_billing = BooleanField("Default billing address")


class EmptyForm(FlaskForm):
    """Only the CSRF token: for buttons that post."""

    next = HiddenField()
