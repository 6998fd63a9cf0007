from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..errors import InvalidInput
from ..extensions import limiter
from . import addresses, bp, mfa, services, tokens
from .forms import (AddressForm, ChangeEmailForm, ChangePasswordForm, CodeForm, DisableMfaForm, EmailForm,
                    EmptyForm, InvitationForm, LoginForm, NewPasswordForm, PasswordConfirmForm, ProfileForm,
                    RegisterForm)
from .services import AccountError, WeakPassword


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


def form_error(form, error: AccountError, field: str | None = None, status: int | None = None):
    """Attach a service error to the form; returns the status to answer with (the error's own)."""
    if field and field in form:
        form[field].errors = list(getattr(error, "problems", None) or [error.message])
    else:
        flash(error.message, "error")
    return status or error.status


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
    status = 200
    if form.validate_on_submit():
        try:
            services.register(form.email.data, form.password.data, form.name.data)
        except WeakPassword as error:
            status = form_error(form, error, "password")
        except AccountError as error:
            status = form_error(form, error, "email")
        else:
            return render_template("account/check_inbox.html", email=form.email.data)
    elif request.method == "POST":
        status = 400
    return render_template("account/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@per_address
@per_account
def login():
    next_url = safe_next(request.args.get("next"), url_for("auth.overview"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except AccountError as error:
            status = form_error(form, error)
        else:
            if services.begin_login(user, form.remember.data):
                return redirect(url_for("auth.login_second_factor", next=next_url))
            flash("You are signed in.", "success")
            return redirect(next_url)
    elif request.method == "POST":
        status = 400
    return render_template("account/login.html", form=form), status


@bp.route("/login/verify", methods=["GET", "POST"])
@per_address
def login_second_factor():
    user = services.pending_mfa_user()
    if user is None:
        flash("Please sign in again.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            method = mfa.verify_second_factor(user, form.code.data)
        except AccountError as error:
            status = form_error(form, error, "code")
        else:
            services.complete_login(user, services.pending_mfa_remember(), method=method)
            if method == "recovery_code":
                flash(f"You used a recovery code; {mfa.remaining_recovery_codes(user)} remain.", "info")
            return redirect(safe_next(request.args.get("next"), url_for("auth.overview")))
    elif request.method == "POST":
        status = 400
    return render_template("account/login_code.html", form=form), status


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
    status = 200
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except WeakPassword as error:
            status = form_error(form, error, "password")
        else:
            flash("Your password is changed. Sign in with the new one.", "success")
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 400
    return render_template("account/reset_password.html", form=form), status


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
    status = 200
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except WeakPassword as error:
            status = form_error(form, error, "password")
        except AccountError as error:
            status = form_error(form, error, "current_password")
        else:
            flash("Your password is changed. Other devices were signed out.", "success")
            return redirect(url_for("auth.overview"))
    elif request.method == "POST":
        status = 400
    return render_template("account/change_password.html", form=form), status


@bp.route("/email", methods=["GET", "POST"])
@login_required
def change_email():
    form = ChangeEmailForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.request_email_change(current_user, form.password.data, form.email.data)
        except AccountError as error:
            status = form_error(form, error, "password" if error.status == 401 else "email")
        else:
            flash("Check the new address's inbox for a confirmation link.", "info")
            return redirect(url_for("auth.overview"))
    elif request.method == "POST":
        status = 400
    return render_template("account/change_email.html", form=form), status


@bp.get("/email/confirm/<token>")
def confirm_email_change(token: str):
    services.confirm_email_change(token)
    flash("Your e-mail address is changed. Other devices were signed out.", "success")
    return redirect(url_for("auth.overview") if current_user.is_authenticated else url_for("auth.login"))


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    form = PasswordConfirmForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.delete_account(current_user, form.password.data)
        except AccountError as error:
            status = form_error(form, error, "password")
        else:
            flash("Your account and personal data are deleted.", "info")
            return redirect(url_for("catalog.home"))
    elif request.method == "POST":
        status = 400
    return render_template("account/delete.html", form=form), status


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
    status = 200
    if form.validate_on_submit():
        try:
            codes = mfa.confirm_enrolment(current_user, form.code.data)
        except AccountError as error:
            status = form_error(form, error, "code")
        else:
            return render_template("account/recovery_codes.html", codes=codes)
    elif request.method == "POST":
        status = 400
    uri = mfa.provisioning_uri(current_user, secret)
    return render_template("account/mfa_setup.html", form=form, secret=secret, qr=mfa.qr_svg(uri)), status


@bp.post("/mfa/disable")
@login_required
def mfa_disable():
    form = DisableMfaForm()
    if current_user.is_staff and current_app.config["MFA_REQUIRED_FOR_STAFF"]:
        abort(403, "Staff accounts must keep two-factor sign-in.")
    if form.validate_on_submit():
        try:
            mfa.disable(current_user, form.password.data, form.code.data)
        except AccountError as error:
            flash(error.message, "error")
            return redirect(url_for("auth.mfa_setup"))
        flash("Two-factor sign-in is off.", "info")
    return redirect(url_for("auth.mfa_setup"))


@bp.post("/mfa/recovery-codes")
@login_required
def mfa_recovery_codes():
    form = CodeForm()
    if form.validate_on_submit() and current_user.mfa_enabled:
        try:
            codes = mfa.regenerate_recovery_codes(current_user, form.code.data)
        except AccountError as error:
            flash(error.message, "error")
            return redirect(url_for("auth.mfa_setup"))
        return render_template("account/recovery_codes.html", codes=codes)
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
    status = 200
    if form.validate_on_submit():
        try:
            addresses.save_address(current_user, form.data, address)
        except InvalidInput as error:
            flash(error.message, "error")
            status = 400
        else:
            flash("Address saved.", "success")
            return redirect(url_for("auth.address_book"))
    elif request.method == "POST":
        status = 400
    return render_template("account/address_form.html", form=form, address=address), status


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
    status = 200
    if form.validate_on_submit():
        try:
            services.accept_invitation(token, form.password.data, form.name.data)
        except WeakPassword as error:
            status = form_error(form, error, "password")
        except AccountError as error:
            status = form_error(form, error, "password")
        else:
            flash("Welcome to the team. Sign in, then set up two-factor sign-in.", "success")
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 400
    return render_template("account/invitation.html", form=form, invited=invited,
                           new_account=invited.password_hash is None), status


def init_app(app) -> None:
    from ..extensions import login_manager

    login_manager.user_loader(services.load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    from .cli import users_group

    app.cli.add_command(users_group)
