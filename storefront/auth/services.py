"""Account services: every change to an account goes through here.

Views parse input and call one of these; each function owns its transaction, writes the
audit log, and raises a domain error with a message safe to show. Messages about
sign-in and password reset never reveal whether an address is registered.
"""
from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, select

from .. import audit
from ..errors import StorefrontError
from ..extensions import db
from ..mail import send_mail
from ..plugins.manager import notify
from ..plugins.types import CustomerSummary
from ..sessions import SessionRecord, end_session, rotate_session_id
from . import tokens
from .models import ROLES, Address, AuthToken, LoginThrottle, RecoveryCode, User, UserSession
from .passwords import hash_password, password_problems, verify_password
from .tokens import utcnow

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
SESSION_KEY_PREFIX = "session:"
MFA_PENDING_KEY = "mfa_pending"


class AccountError(StorefrontError):
    """That did not work."""

    status = 400
    code = "account_error"


class InvalidCredentials(AccountError):
    """The e-mail address or password is not correct."""

    status = 401
    code = "invalid_credentials"


class LoginLocked(AccountError):
    """Too many failed sign-ins for this address. Wait a few minutes or reset your password."""

    status = 429
    code = "locked"


class WeakPassword(AccountError):
    code = "weak_password"

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_email(email: str) -> str:
    email = normalise_email(email)
    if len(email) > 191 or not EMAIL_PATTERN.match(email):
        raise AccountError("Enter a valid e-mail address, like name@example.com.")
    return email


def check_password_policy(password: str, email: str) -> None:
    problems = password_problems(password, email)
    if problems:
        raise WeakPassword(problems)


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email),
                                                User.deleted_at.is_(None)))


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: ``"<id>:<epoch>"``; an old epoch means a revoked session."""
    ident, _, epoch = (user_id or "").partition(":")
    if not ident.isdigit() or not epoch.isdigit():
        return None
    user = db.session.get(User, int(ident))
    if user is None or not user.is_active or user.session_epoch != int(epoch):
        return None
    return user


# --- registration and verification ------------------------------------------------------


def register(email: str, password: str, name: str = "") -> User | None:
    """Create a customer and mail a verification link.

    For an address already registered nothing is created and the owner is told by mail
    instead — the page says the same either way, so it cannot be used to probe addresses.
    """
    email = check_email(email)
    check_password_policy(password, email)
    existing = find_user(email)
    if existing is not None:
        send_mail(existing.email, "account_exists", user=existing)
        db.session.commit()
        return None
    user = User(email=email, password_hash=hash_password(password), name=(name or "").strip()[:120],
                role="customer", created_at=utcnow())
    db.session.add(user)
    db.session.flush()
    send_verification(user)
    audit.record("auth.registered", actor=user, target_type="user", target_id=user.id)
    db.session.commit()
    notify("storefront_user_registered", user=CustomerSummary(id=user.id, email=user.email, name=user.name))
    return user


def send_verification(user: User) -> None:
    token = tokens.issue(user, "verify_email", current_app.config["EMAIL_VERIFICATION_MAX_AGE"])
    send_mail(user.email, "verify_email", user=user, token=token)


def resend_verification(user: User) -> None:
    if user.email_verified:
        return
    send_verification(user)
    db.session.commit()


def verify_email(token: str) -> User:
    record = tokens.consume(token, "verify_email")
    user = db.session.get(User, record.user_id)
    user.email_verified_at = user.email_verified_at or utcnow()
    audit.record("auth.email_verified", actor=user, target_type="user", target_id=user.id)
    db.session.commit()
    return user


# --- signing in and out ------------------------------------------------------------------


def _throttle(email: str) -> LoginThrottle:
    throttle = db.session.scalar(select(LoginThrottle).where(LoginThrottle.email == email))
    if throttle is None:
        throttle = LoginThrottle(email=email, failures=0, lockouts=0)
        db.session.add(throttle)
    return throttle


def authenticate(email: str, password: str) -> User:
    """Check credentials; counts failures per address and locks with growing back-off."""
    email = normalise_email(email)[:191]
    throttle = db.session.scalar(select(LoginThrottle).where(LoginThrottle.email == email))
    now = utcnow()
    if throttle is not None and throttle.locked_until and throttle.locked_until > now:
        raise LoginLocked()
    user = find_user(email)
    if user is not None and verify_password(user.password_hash, password):
        if throttle is not None:
            throttle.failures = 0
            throttle.locked_until = None
        return user
    if user is None:
        verify_password(None, password)  # equal timing for unknown addresses
    throttle = throttle or _throttle(email)
    throttle.failures += 1
    audit.record("auth.login_failed", target_type="user", target_id=user.id if user else None,
                 after={"email": email, "failures": throttle.failures})
    locked = throttle.failures >= current_app.config["LOGIN_MAX_FAILURES"]
    if locked:
        seconds = current_app.config["LOGIN_LOCKOUT_SECONDS"] * (2 ** min(throttle.lockouts, 10))
        throttle.locked_until = now + timedelta(seconds=seconds)
        throttle.lockouts += 1
        throttle.failures = 0
        audit.record("auth.lockout", target_type="user", target_id=user.id if user else None,
                     after={"email": email, "locked_seconds": seconds})
    db.session.commit()
    raise LoginLocked() if locked else InvalidCredentials()


def unlock_login(user: User, actor: User) -> None:
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.email == user.email))
    audit.record("admin.customer.unlocked", actor=actor, target_type="user", target_id=user.id)
    db.session.commit()


def is_login_locked(user: User) -> bool:
    throttle = db.session.scalar(select(LoginThrottle).where(LoginThrottle.email == user.email))
    return bool(throttle and throttle.locked_until and throttle.locked_until > utcnow())


def begin_login(user: User, remember: bool) -> bool:
    """Start signing ``user`` in. Returns True when a second factor is still needed."""
    if user.mfa_enabled:
        rotate_session_id()
        session[MFA_PENDING_KEY] = {"user": user.get_id(), "remember": bool(remember),
                                    "at": utcnow().timestamp()}
        return True
    complete_login(user, remember)
    return False


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def pending_mfa_remember() -> bool:
    return bool((session.get(MFA_PENDING_KEY) or {}).get("remember"))


def pending_mfa_user() -> User | None:
    pending = session.get(MFA_PENDING_KEY)
    if not pending or utcnow().timestamp() - pending.get("at", 0) > 600:
        return None
    return load_user(pending["user"])


def complete_login(user: User, remember: bool, method: str = "password") -> None:
    """Sign in: new session id, the session remembered for its lifetime if asked."""
    session.pop(MFA_PENDING_KEY, None)
    rotate_session_id()  # the pre-login id (perhaps planted by an attacker) dies here
    login_user(user)
    # "Remember me" keeps the server-side session for PERMANENT_SESSION_LIFETIME; without
    # it the cookie ends with the browser session. No separate remember cookie exists, so
    # revoking the session row signs that device out for good.
    session.permanent = bool(remember)
    user.last_login_at = utcnow()
    track_session(user)
    audit.record("auth.login", actor=user, target_type="user", target_id=user.id, after={"method": method})
    db.session.commit()


def current_session_key() -> str | None:
    sid = getattr(session, "sid", None)
    return f"{SESSION_KEY_PREFIX}{sid}" if sid else None


def track_session(user: User) -> None:
    key = current_session_key()
    if key is None:
        return
    now = utcnow()
    db.session.execute(delete(UserSession).where(UserSession.session_key == key))
    db.session.add(UserSession(user_id=user.id, session_key=key, ip=request.remote_addr,
                               user_agent=(request.user_agent.string or "")[:255],
                               created_at=now, last_seen_at=now))


def touch_session(user: User) -> None:
    """Refresh "last seen" at most once a minute per session."""
    key = current_session_key()
    record = db.session.scalar(select(UserSession).where(UserSession.session_key == key)) if key else None
    if record is None:
        return
    now = utcnow()
    if now - record.last_seen_at > timedelta(seconds=60):
        record.last_seen_at = now
        record.ip = request.remote_addr
        db.session.commit()


def logout(user: User | None) -> None:
    key = current_session_key()
    if key:
        db.session.execute(delete(UserSession).where(UserSession.session_key == key))
    if user is not None:
        audit.record("auth.logout", actor=user, target_type="user", target_id=user.id)
    db.session.commit()
    logout_user()
    end_session()


def active_sessions(user: User) -> list[UserSession]:
    return db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)
                              .order_by(UserSession.last_seen_at.desc())).all()


def revoke_session(user: User, session_id: int) -> None:
    """Sign out one of the user's own sessions (another user's id is simply not found)."""
    record = db.session.scalar(select(UserSession).where(UserSession.id == session_id,
                                                         UserSession.user_id == user.id))
    if record is None:
        from ..errors import NotFound

        raise NotFound()
    db.session.execute(delete(SessionRecord).where(SessionRecord.session_id == record.session_key))
    db.session.delete(record)
    audit.record("auth.session_revoked", actor=user, target_type="user", target_id=user.id)
    db.session.commit()


def revoke_other_sessions(user: User, audit_action: str = "auth.sessions_revoked") -> None:
    """Sign out everywhere but here: new epoch, the current session re-signed in."""
    keep = current_session_key()
    others = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    for record in others:
        if record.session_key != keep:
            db.session.execute(delete(SessionRecord).where(SessionRecord.session_id == record.session_key))
            db.session.delete(record)
    user.session_epoch += 1
    audit.record(audit_action, actor=user, target_type="user", target_id=user.id)
    db.session.commit()
    if keep is not None and session.get("_user_id"):
        login_user(user)  # the new epoch for this session only
        rotate_session_id()
        _rekey_current_session(keep)


def _rekey_current_session(old_key: str) -> None:
    new_key = current_session_key()
    record = db.session.scalar(select(UserSession).where(UserSession.session_key == old_key))
    if record is not None and new_key:
        record.session_key = new_key
        db.session.commit()


def revoke_all_sessions(user: User) -> None:
    """Used when a password is reset by e-mail: nobody stays signed in."""
    keys = db.session.scalars(select(UserSession.session_key).where(UserSession.user_id == user.id)).all()
    if keys:
        db.session.execute(delete(SessionRecord).where(SessionRecord.session_id.in_(keys)))
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    user.session_epoch += 1


# --- passwords and e-mail addresses ----------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Mail a reset link if the address belongs to an account; silent otherwise."""
    user = find_user(email)
    if user is None:
        return
    token = tokens.issue(user, "reset_password", current_app.config["PASSWORD_RESET_MAX_AGE"])
    send_mail(user.email, "reset_password", user=user, token=token)
    audit.record("auth.password_reset_requested", target_type="user", target_id=user.id)
    db.session.commit()


def reset_password(token: str, new_password: str) -> User:
    record = tokens.peek(token, "reset_password")
    user = db.session.get(User, record.user_id)
    check_password_policy(new_password, user.email)
    tokens.consume(token, "reset_password")
    user.password_hash = hash_password(new_password)
    revoke_all_sessions(user)
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.email == user.email))
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()  # they proved they read this mailbox
    audit.record("auth.password_reset", actor=user, target_type="user", target_id=user.id)
    send_mail(user.email, "password_changed", user=user)
    db.session.commit()
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not verify_password(user.password_hash, current_password):
        raise InvalidCredentials("Your current password is not correct.")
    check_password_policy(new_password, user.email)
    user.password_hash = hash_password(new_password)
    send_mail(user.email, "password_changed", user=user)
    revoke_other_sessions(user, "auth.password_changed")


def request_email_change(user: User, password: str, new_email: str) -> None:
    if not verify_password(user.password_hash, password):
        raise InvalidCredentials("Your password is not correct.")
    new_email = check_email(new_email)
    if new_email == user.email:
        raise AccountError("That is already your e-mail address.")
    token = tokens.issue(user, "change_email", current_app.config["EMAIL_VERIFICATION_MAX_AGE"],
                         payload={"email": new_email})
    if find_user(new_email) is None:
        send_mail(new_email, "confirm_email_change", user=user, token=token, new_email=new_email)
    db.session.commit()


def confirm_email_change(token: str) -> User:
    record = tokens.consume(token, "change_email")
    user = db.session.get(User, record.user_id)
    new_email = record.payload["email"]
    if find_user(new_email) is not None:
        db.session.rollback()
        raise AccountError("That e-mail address is already in use.")
    old_email = user.email
    user.email = new_email
    user.email_verified_at = utcnow()
    send_mail(old_email, "email_changed", user=user, old_email=old_email)
    audit.record("auth.email_changed", actor=user, target_type="user", target_id=user.id,
                 before={"email": old_email}, after={"email": new_email})
    db.session.commit()
    revoke_other_sessions(user, "auth.sessions_revoked_email_change")
    return user


def update_profile(user: User, name: str) -> None:
    before = {"name": user.name}
    user.name = (name or "").strip()[:120]
    audit.record("account.profile_updated", actor=user, target_type="user", target_id=user.id,
                 before=before, after={"name": user.name})
    db.session.commit()


def delete_account(user: User, password: str) -> None:
    """Remove personal data; orders stay (anonymised) for the merchant's books."""
    if not verify_password(user.password_hash, password):
        raise InvalidCredentials("Your password is not correct.")
    revoke_all_sessions(user)
    db.session.execute(delete(Address).where(Address.user_id == user.id))
    db.session.execute(delete(AuthToken).where(AuthToken.user_id == user.id))
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.email == user.email))
    user.email = f"deleted-{user.id}@invalid.invalid"
    user.name = ""
    user.password_hash = None
    user.mfa_secret = None
    user.mfa_enabled_at = None
    user.deleted_at = utcnow()
    audit.record("account.deleted", actor=user, target_type="user", target_id=user.id)
    db.session.commit()
    logout_user()
    end_session()


# --- staff ---------------------------------------------------------------------------------


def create_admin(email: str, password: str, name: str = "") -> User:
    email = check_email(email)
    check_password_policy(password, email)
    if find_user(email) is not None:
        raise AccountError("An account with that e-mail address already exists.")
    user = User(email=email, password_hash=hash_password(password), name=name, role="admin",
                created_at=utcnow(), email_verified_at=utcnow())
    db.session.add(user)
    db.session.flush()
    audit.record("admin.staff.created", target_type="user", target_id=user.id,
                 after={"email": email, "role": "admin", "via": "cli"})
    db.session.commit()
    return user


def set_role(user: User, role: str, actor: User) -> None:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}.")
    if user.id == actor.id:
        raise AccountError("You cannot change your own role.")
    before = {"role": user.role}
    user.role = role
    revoke_all_sessions(user)  # privilege change: the user signs in again
    audit.record("admin.staff.role_changed", actor=actor, target_type="user", target_id=user.id,
                 before=before, after={"role": role})
    db.session.commit()


def invite_staff(email: str, role: str, actor: User) -> User:
    email = check_email(email)
    if role not in ("staff", "admin"):
        raise AccountError("Invite as staff or admin.")
    user = find_user(email)
    if user is not None and user.is_staff:
        raise AccountError("That person is already on the staff.")
    if user is None:
        user = User(email=email, password_hash=None, name="", role="customer", created_at=utcnow())
        db.session.add(user)
        db.session.flush()
    token = tokens.issue(user, "invitation", current_app.config["STAFF_INVITATION_MAX_AGE"],
                         payload={"role": role})
    send_mail(email, "staff_invitation", user=user, token=token, inviter=actor, role=role)
    audit.record("admin.staff.invited", actor=actor, target_type="user", target_id=user.id,
                 after={"email": email, "role": role})
    db.session.commit()
    return user


def accept_invitation(token: str, password: str, name: str) -> User:
    record = tokens.peek(token, "invitation")
    user = db.session.get(User, record.user_id)
    if user.password_hash is None:
        check_password_policy(password, user.email)
    tokens.consume(token, "invitation")
    if user.password_hash is None:
        user.password_hash = hash_password(password)
        user.name = (name or "").strip()[:120]
    elif not verify_password(user.password_hash, password):
        db.session.rollback()
        raise InvalidCredentials("Your password is not correct.")
    user.role = record.payload["role"]
    user.email_verified_at = user.email_verified_at or utcnow()
    revoke_all_sessions(user)
    audit.record("admin.staff.joined", actor=user, target_type="user", target_id=user.id,
                 after={"role": user.role})
    db.session.commit()
    return user
