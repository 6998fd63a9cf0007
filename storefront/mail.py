"""Outgoing e-mail: one layer for every message the store sends.

:func:`send_mail` renders ``mail/<template>.txt`` (and ``mail/<template>.html`` when it
exists — themes can override both), stores the message in ``outgoing_mail`` in the
caller's transaction, and enqueues :func:`deliver` for it. ``deliver`` is idempotent: it
sends a message only while its status is ``queued`` and marks it sent, so a retried job
never mails a customer twice.

``MAIL_BACKEND`` chooses the transport: ``smtp`` (production), ``console`` (prints),
``outbox`` (writes ``.eml`` files to ``instance/outbox`` — the demo default, handy to
click verification links), or ``memory`` (kept on the app for tests).
"""
from __future__ import annotations

import logging
import os
import smtplib
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import make_msgid

from flask import Flask, current_app, render_template
from jinja2 import TemplateNotFound
from sqlalchemy import DateTime, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .extensions import db
from . import jobs

log = logging.getLogger(__name__)
EXTENSION_KEY = "storefront.mail"
BACKENDS = ("smtp", "console", "outbox", "memory")


class OutgoingMail(db.Model):
    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(String(191), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued | sent
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


def init_app(app: Flask) -> None:
    backend = app.config["MAIL_BACKEND"]
    if backend not in BACKENDS:
        from .config import ConfigurationError

        raise ConfigurationError(f"MAIL_BACKEND is {backend!r}; use one of {', '.join(BACKENDS)}")
    # The memory backend's outbox: tests read sent messages here.
    app.extensions[EXTENSION_KEY] = {"outbox": []}
    if not event.contains(Session, "after_commit", enqueue_pending):
        # Mail jobs are enqueued once the row that describes them is committed.
        event.listen(Session, "after_commit", enqueue_pending)
        event.listen(Session, "after_rollback", discard_pending)


def send_mail(to: str, template: str, **context) -> OutgoingMail:
    """Queue ``template`` for ``to``; the caller's commit makes it real.

    The subject is the text template's first line (``Subject: …``).
    """
    text = render_template(f"mail/{template}.txt", **context)
    first_line, _, body = text.partition("\n")
    if not first_line.startswith("Subject:"):
        raise ValueError(f"mail/{template}.txt must start with a 'Subject: …' line")
    subject, body = first_line[len("Subject:"):].strip(), body.strip("\n") + "\n"
    try:
        html = render_template(f"mail/{template}.html", subject=subject, **context)
    except TemplateNotFound:
        paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
        html = render_template("mail/layout.html", subject=subject, paragraphs=paragraphs)
    message = OutgoingMail(to=to, subject=subject, text_body=body, html_body=html, template=template,
                           status="queued", created_at=_now())
    db.session.add(message)
    db.session.flush()  # the id is needed for the job
    # Enqueue after the caller's commit: a job must not look for a row that is not there.
    pending = db.session.info.setdefault("storefront_mail_pending", [])
    pending.append(message.id)
    return message


def enqueue_pending(session) -> None:
    for mail_id in session.info.pop("storefront_mail_pending", []):
        jobs.enqueue(deliver, mail_id, queue="mail", job_id=f"mail-{mail_id}")


def discard_pending(session) -> None:
    session.info.pop("storefront_mail_pending", None)


def deliver(mail_id: int) -> str:
    """Send one stored message exactly once (the RQ job)."""
    message = db.session.get(OutgoingMail, mail_id)
    if message is None:
        return "missing"
    if message.status == "sent":
        return "already sent"
    transport(build_email(message))
    message.status = "sent"
    message.sent_at = _now()
    db.session.commit()
    return "sent"


def build_email(message: OutgoingMail) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(idstring=f"storefront-{message.id}")
    email.set_content(message.text_body)
    if message.html_body:
        email.add_alternative(message.html_body, subtype="html")
    return email


def transport(email: EmailMessage) -> None:
    config = current_app.config
    backend = config["MAIL_BACKEND"]
    if backend == "memory":
        current_app.extensions[EXTENSION_KEY]["outbox"].append(email)
    elif backend == "console":
        print(email.as_string(), flush=True)
    elif backend == "outbox":
        folder = os.path.join(current_app.instance_path, "outbox")
        os.makedirs(folder, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        with open(os.path.join(folder, f"{stamp}.eml"), "w", encoding="utf-8") as fh:
            fh.write(email.as_string())
    else:
        smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
        with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(email)


def sent_messages(app: Flask | None = None) -> list[EmailMessage]:
    """Messages delivered by the memory backend (tests)."""
    return (app or current_app).extensions[EXTENSION_KEY]["outbox"]


def queued_count() -> int:
    return len(db.session.scalars(select(OutgoingMail.id).where(OutgoingMail.status == "queued")).all())


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
