from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..errors import StorefrontError
from ..extensions import limiter
from . import addresses, bp, mfa, services, tokens
from .forms import (AddressForm, ChangeEmailForm, ChangePasswordForm, CodeForm, DisableMfaForm, EmailForm,
                    EmptyForm, InvitationForm, LoginForm, NewPasswordForm, PasswordConfirmForm, ProfileForm,
                    RegisterForm)
from .services import WeakPassword


def auth_limit():
    return current_app.config["RATELIMIT_AUTH"]


def submitted_email() -> str:
    """Per-account limits key on the address typed in, registered or not."""
    return "account:" + services.normalise_email(request.form.get("email", ""))[:191]


# Each sign-in, registration and reset attempt counts per client address and per account.
per_address = limiter.limit(auth_limit, methods=["POST"])
per_account = limiter.limit(auth_limit, methods=["POST"], key_func=submitted_email)


def safe_next(target: str | None, default: str) -> str:
    # Same-site paths only: an open redirect after sign-in is a phishing aid.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return default


@dataclass(frozen=True)
class FormOutcome:
    ok: bool  # the form was valid and the service accepted it
    value: Any  # what the service returned
    status: int  # the status to render the form with when not ok


def run_form(form, action: Callable[[], Any],
             field: str | Callable[[StorefrontError], str] | None = None) -> FormOutcome:
    """Validate ``form`` and, when valid, run the service call ``action``.

    A refused password is shown on the form's password field; any other domain error
    on ``field`` (a name, or a function choosing one from the error), or flashed when no
    field is given. The status is the error's own (400, 401, 429…).
    """
    if not form.validate_on_submit():
        return FormOutcome(False, None, 400 if request.method == "POST" else 200)
    try:
        return FormOutcome(True, action(), 200)
    except StorefrontError as error:
        target = "password" if isinstance(error, WeakPassword) else (field(error) if callable(field) else field)
        if target and target in form:
            form[target].errors = list(getattr(error, "problems", None) or [error.message])
        else:
            flash(error.message, "error")
        return FormOutcome(False, None, error.status)


@bp.before_app_request
def refresh_session_last_seen():
    if current_user.is_authenticated:
        services.touch_session(current_user)


# --- registration, sign-in, sign-out ----------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@per_address
def register():
    if current_user.is_authenticated:
        return redirect(url_for("auth.overview"))
    form = RegisterForm()
    outcome = run_form(form, lambda: services.register(form.email.data, form.password.data, form.name.data),
                       field="email")
    if outcome.ok:
        return render_template("account/check_inbox.html", email=form.email.data)
    return render_template("account/register.html", form=form), outcome.status


@bp.route("/login", methods=["GET", "POST"])
@per_address
@per_account
def login():
    next_url = safe_next(request.args.get("next"), url_for("auth.overview"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    outcome = run_form(form, lambda: services.authenticate(form.email.data, form.password.data))
    if outcome.ok:
        if services.begin_login(outcome.value, form.remember.data):
            return redirect(url_for("auth.login_second_factor", next=next_url))
        flash("You are signed in.", "success")
        return redirect(next_url)
    return render_template("account/login.html", form=form), outcome.status


@bp.route("/login/verify", methods=["GET", "POST"])
@per_address
def login_second_factor():
    user = services.pending_mfa_user()
    if user is None:
        flash("Please sign in again.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    outcome = run_form(form, lambda: mfa.verify_second_factor(user, form.code.data), field="code")
    if outcome.ok:
        services.complete_login(user, services.pending_mfa_remember(), method=outcome.value)
        if outcome.value == "recovery_code":
            flash(f"You used a recovery code; {mfa.remaining_recovery_codes(user)} remain.", "info")
        return redirect(safe_next(request.args.get("next"), url_for("auth.overview")))
    return render_template("account/login_code.html", form=form), outcome.status


@bp.post("/logout")
def logout():
    services.logout(current_user if current_user.is_authenticated else None)
    flash("You are signed out.", "info")
    return redirect(url_for("catalog.home"))


# --- e-mail verification and password reset ------------------------------------------------


@bp.get("/verify/<token>")
def verify_email(token: str):
    services.verify_email(token)
    flash("Thank you — your e-mail address is confirmed.", "success")
    return redirect(url_for("auth.overview") if current_user.is_authenticated else url_for("auth.login"))


@bp.post("/verify/resend")
@login_required
@limiter.limit("3 per hour")
def resend_verification():
    if EmptyForm().validate_on_submit():
        services.resend_verification(current_user)
        flash("We sent you a new confirmation link.", "info")
    return redirect(url_for("auth.overview"))


@bp.route("/reset", methods=["GET", "POST"])
@per_address
@per_account
def reset_request():
    form = EmailForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        # The same answer whether or not the address is registered.
        return render_template("account/check_inbox.html", email=form.email.data, reset=True)
    return render_template("account/reset_request.html", form=form), 400 if request.method == "POST" else 200


@bp.route("/reset/<token>", methods=["GET", "POST"])
@per_address
def reset_password(token: str):
    tokens.peek(token, "reset_password")  # a used or expired link says so before the form
    form = NewPasswordForm()
    outcome = run_form(form, lambda: services.reset_password(token, form.password.data))
    if outcome.ok:
        flash("Your password is changed. Sign in with the new one.", "success")
        return redirect(url_for("auth.login"))
    return render_template("account/reset_password.html", form=form), outcome.status


# --- the account area --------------------------------------------------------------------


@bp.get("/")
@login_required
def overview():
    return render_template("account/overview.html", form=ProfileForm(name=current_user.name),
                           empty_form=EmptyForm())


@bp.post("/profile")
@login_required
def update_profile():
    form = ProfileForm()
    if not form.validate_on_submit():
        return render_template("account/overview.html", form=form, empty_form=EmptyForm()), 400
    services.update_profile(current_user, form.name.data)
    flash("Your profile is saved.", "success")
    return redirect(url_for("auth.overview"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    outcome = run_form(form, lambda: services.change_password(current_user, form.current_password.data,
                                                              form.password.data), field="current_password")
    if outcome.ok:
        flash("Your password is changed. Other devices were signed out.", "success")
        return redirect(url_for("auth.overview"))
    return render_template("account/change_password.html", form=form), outcome.status


@bp.route("/email", methods=["GET", "POST"])
@login_required
def change_email():
    form = ChangeEmailForm()
    outcome = run_form(form, lambda: services.request_email_change(current_user, form.password.data, form.email.data),
                       field=lambda error: "password" if error.status == 401 else "email")
    if outcome.ok:
        flash("Check the new address's inbox for a confirmation link.", "info")
        return redirect(url_for("auth.overview"))
    return render_template("account/change_email.html", form=form), outcome.status


@bp.get("/email/confirm/<token>")
def confirm_email_change(token: str):
    services.confirm_email_change(token)
    flash("Your e-mail address is changed. Other devices were signed out.", "success")
    return redirect(url_for("auth.overview") if current_user.is_authenticated else url_for("auth.login"))


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    form = PasswordConfirmForm()
    outcome = run_form(form, lambda: services.delete_account(current_user, form.password.data), field="password")
    if outcome.ok:
        flash("Your account and personal data are deleted.", "info")
        return redirect(url_for("catalog.home"))
    return render_template("account/delete.html", form=form), outcome.status


@bp.get("/sessions")
@login_required
def sessions():
    return render_template("account/sessions.html", sessions=services.active_sessions(current_user),
                           current_key=services.current_session_key(), form=EmptyForm())


@bp.post("/sessions/<int:session_id>/revoke")
@login_required
def revoke_session(session_id: int):
    if EmptyForm().validate_on_submit():
        services.revoke_session(current_user, session_id)
        flash("That device is signed out.", "success")
    return redirect(url_for("auth.sessions"))


@bp.post("/sessions/revoke-others")
@login_required
def revoke_other_sessions():
    if EmptyForm().validate_on_submit():
        services.revoke_other_sessions(current_user)
        flash("Every other device is signed out.", "success")
    return redirect(url_for("auth.sessions"))


# --- two-factor sign-in ----------------------------------------------------------------------


@bp.route("/mfa", methods=["GET", "POST"])
@login_required
def mfa_setup():
    if current_user.mfa_enabled:
        return render_template("account/mfa_enabled.html", disable_form=DisableMfaForm(),
                               codes_form=CodeForm(), remaining=mfa.remaining_recovery_codes(current_user))
    secret = mfa.start_enrolment(current_user)
    form = CodeForm()
    outcome = run_form(form, lambda: mfa.confirm_enrolment(current_user, form.code.data), field="code")
    if outcome.ok:
        return render_template("account/recovery_codes.html", codes=outcome.value)
    uri = mfa.provisioning_uri(current_user, secret)
    return render_template("account/mfa_setup.html", form=form, secret=secret, qr=mfa.qr_svg(uri)), outcome.status


@bp.post("/mfa/disable")
@login_required
def mfa_disable():
    form = DisableMfaForm()
    if current_user.is_staff and current_app.config["MFA_REQUIRED_FOR_STAFF"]:
        abort(403, "Staff accounts must keep two-factor sign-in.")
    if run_form(form, lambda: mfa.disable(current_user, form.password.data, form.code.data)).ok:
        flash("Two-factor sign-in is off.", "info")
    return redirect(url_for("auth.mfa_setup"))


@bp.post("/mfa/recovery-codes")
@login_required
def mfa_recovery_codes():
    form = CodeForm()
    if current_user.mfa_enabled:
        outcome = run_form(form, lambda: mfa.regenerate_recovery_codes(current_user, form.code.data))
        if outcome.ok:
            return render_template("account/recovery_codes.html", codes=outcome.value)
    return redirect(url_for("auth.mfa_setup"))


# --- address book --------------------------------------------------------------------------


@bp.get("/addresses")
@login_required
def address_book():
    return render_template("account/addresses.html", addresses=addresses.list_addresses(current_user),
                           form=EmptyForm())


@bp.route("/addresses/new", methods=["GET", "POST"], defaults={"address_id": None})
@bp.route("/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@login_required
def edit_address(address_id: int | None):
    address = addresses.get_address(current_user, address_id) if address_id else None
    form = AddressForm(obj=address)
    outcome = run_form(form, lambda: addresses.save_address(current_user, form.data, address))
    if outcome.ok:
        flash("Address saved.", "success")
        return redirect(url_for("auth.address_book"))
    return render_template("account/address_form.html", form=form, address=address), outcome.status


@bp.post("/addresses/<int:address_id>/delete")
@login_required
def delete_address(address_id: int):
    if EmptyForm().validate_on_submit():
        addresses.delete_address(current_user, address_id)
        flash("Address deleted.", "success")
    return redirect(url_for("auth.address_book"))


# --- staff invitations ------------------------------------------------------------------------


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@per_address
def accept_invitation(token: str):
    record = tokens.peek(token, "invitation")
    invited = services.get_user(record.user_id)
    form = InvitationForm()
    outcome = run_form(form, lambda: services.accept_invitation(token, form.password.data, form.name.data),
                       field="password")
    if outcome.ok:
        flash("Welcome to the team. Sign in, then set up two-factor sign-in.", "success")
        return redirect(url_for("auth.login"))
    return render_template("account/invitation.html", form=form, invited=invited,
                           new_account=invited.password_hash is None), outcome.status


def init_app(app) -> None:
    from ..extensions import login_manager

    login_manager.user_loader(services.load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    from .cli import users_group

    app.cli.add_command(users_group)
