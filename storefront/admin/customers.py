"""Back office: customers (search, detail, lock/unlock, MFA reset), staff (invite, roles)
and the audit log."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from .. import audit
from ..audit import AuditEvent
from ..auth import mfa, services
from ..auth.addresses import list_addresses
from ..auth.forms import EmptyForm
from ..auth.models import LoginThrottle, User
from ..clock import utcnow
from ..extensions import db
from ..orders import status as order_status
from ..orders.services import customer_orders
from . import bp
from .guard import admin_required, staff_required

PAGE_SIZE = 50


def _page() -> int:
    try:
        return max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        abort(400, "The page number must be a whole number.")


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        abort(404)
    return user


@bp.get("/customers")
@staff_required
def customers():
    q = request.args.get("q", "").strip()[:100]
    query = select(User).where(User.deleted_at.is_(None), User.role == "customer")
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(func.lower(User.email).like(like), func.lower(User.name).like(like)))
    page = _page()
    rows = db.session.scalars(query.order_by(User.id.desc()).limit(PAGE_SIZE + 1)
                              .offset((page - 1) * PAGE_SIZE)).all()
    return render_template("admin/customers.html", customers=rows[:PAGE_SIZE], q=q, page=page,
                           has_next=len(rows) > PAGE_SIZE)


@bp.get("/customers/<int:user_id>")
@staff_required
def customer(user_id: int):
    user = _get_user(user_id)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.target_type == "user",
                                                         AuditEvent.target_id == str(user.id))
                                .order_by(AuditEvent.id.desc()).limit(20)).all()
    orders, more_orders = customer_orders(user, per_page=10)
    return render_template("admin/customer.html", customer=user, addresses=list_addresses(user),
                           locked=services.is_login_locked(user), events=events, form=EmptyForm(),
                           orders=orders, more_orders=more_orders, statuses=order_status.LABELS)


@bp.post("/customers/<int:user_id>/lock")
@staff_required
def lock_customer(user_id: int):
    user = _get_user(user_id)
    if EmptyForm().validate_on_submit():
        throttle = db.session.scalar(select(LoginThrottle).where(LoginThrottle.email == user.email))
        if throttle is None:
            throttle = LoginThrottle(email=user.email, failures=0, lockouts=0)
            db.session.add(throttle)
        throttle.locked_until = utcnow() + timedelta(days=3650)
        services.revoke_all_sessions(user)
        audit.record("admin.customer.locked", actor=current_user, target_type="user", target_id=user.id)
        db.session.commit()
        flash(f"{user.email} is locked and signed out everywhere.", "success")
    return redirect(url_for("admin.customer", user_id=user.id))


@bp.post("/customers/<int:user_id>/unlock")
@staff_required
def unlock_customer(user_id: int):
    user = _get_user(user_id)
    if EmptyForm().validate_on_submit():
        services.unlock_login(user, actor=current_user)
        flash(f"{user.email} can sign in again.", "success")
    return redirect(url_for("admin.customer", user_id=user.id))


@bp.post("/customers/<int:user_id>/reset-mfa")
@staff_required
def reset_customer_mfa(user_id: int):
    user = _get_user(user_id)
    if EmptyForm().validate_on_submit():
        mfa.reset_by_staff(user, actor=current_user)
        flash(f"Two-factor sign-in is removed from {user.email}.", "success")
    return redirect(url_for("admin.customer", user_id=user.id) if user.role == "customer"
                    else url_for("admin.staff"))


@bp.get("/staff")
@staff_required
def staff():
    members = db.session.scalars(select(User).where(User.deleted_at.is_(None), User.role.in_(("staff", "admin")))
                                 .order_by(User.role, User.email)).all()
    return render_template("admin/staff.html", members=members, form=EmptyForm())


@bp.post("/staff/invite")
@admin_required
def invite_staff():
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.invite_staff(request.form.get("email", ""), request.form.get("role", "staff"), actor=current_user)
    except services.AccountError as error:
        flash(error.message, "error")
        return redirect(url_for("admin.staff"))
    flash("Invitation sent.", "success")
    return redirect(url_for("admin.staff"))


@bp.post("/staff/<int:user_id>/role")
@admin_required
def change_staff_role(user_id: int):
    user = _get_user(user_id)
    if EmptyForm().validate_on_submit():
        try:
            services.set_role(user, request.form.get("role", ""), actor=current_user)
        except services.AccountError as error:
            flash(error.message, "error")
        else:
            flash(f"{user.email} is now {user.role}.", "success")
    return redirect(url_for("admin.staff"))


@bp.get("/audit")
@staff_required
def audit_log():
    filters = {key: request.args.get(key, "").strip()[:100] for key in ("action", "actor", "target", "since")}
    query = select(AuditEvent)
    if filters["action"]:
        query = query.where(AuditEvent.action.like(f"{filters['action']}%"))
    if filters["actor"]:
        query = query.where(AuditEvent.actor_email.like(f"%{filters['actor'].lower()}%"))
    if filters["target"]:
        query = query.where(AuditEvent.target_id == filters["target"])
    if filters["since"]:
        try:
            since = datetime.fromisoformat(filters["since"])
        except ValueError:
            flash("Enter the date as YYYY-MM-DD.", "error")
            return render_template("admin/audit.html", events=[], filters=filters, page=1, has_next=False), 400
        query = query.where(AuditEvent.at >= since)
    page = _page()
    rows = db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)
                              .offset((page - 1) * PAGE_SIZE)).all()
    return render_template("admin/audit.html", events=rows[:PAGE_SIZE], filters=filters, page=page,
                           has_next=len(rows) > PAGE_SIZE)
