from rq import Queue
from sqlalchemy import select

from storefront import mail
from storefront.extensions import db
from storefront.mail import OutgoingMail, deliver, send_mail


def test_a_message_has_a_subject_a_text_part_and_a_branded_html_part(app, make_user, sent_mail):
    user = make_user(name="Ann")
    with app.test_request_context("/"):
        send_mail(user.email, "password_changed", user=user)
        db.session.commit()
    message = sent_mail[-1]
    assert message["Subject"] == "Your Storefront password was changed"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert text.startswith("Hello Ann,") and "template-version" not in text
    assert "<b>Storefront</b>" in html and '<a href="http://localhost/account/reset"' in html


def test_delivering_the_same_message_twice_sends_it_once(app, make_user, sent_mail):
    user = make_user()
    with app.test_request_context("/"):
        message = send_mail(user.email, "password_changed", user=user)
        db.session.commit()
    assert len(sent_mail) == 1
    assert deliver(message.id) == "already sent"  # a retried job
    assert len(sent_mail) == 1
    assert db.session.get(OutgoingMail, message.id).status == "sent"


def test_mail_is_queued_only_when_the_transaction_commits(app, make_user, queued_jobs):
    user = make_user()
    with app.test_request_context("/"):
        send_mail(user.email, "password_changed", user=user)
        db.session.rollback()
        assert Queue("mail", connection=queued_jobs.connection).count == 0
        send_mail(user.email, "password_changed", user=user)
        db.session.commit()
    assert Queue("mail", connection=queued_jobs.connection).count == 1
    queued_jobs()
    assert [m.status for m in db.session.scalars(select(OutgoingMail))] == ["sent"]
    assert len(mail.sent_messages(app)) == 1


def test_a_theme_can_rebrand_every_message(make_app, tmp_path, request):
    theme = tmp_path / "themes" / "brand"
    (theme / "templates" / "mail").mkdir(parents=True)
    (theme / "theme.json").write_text('{"name": "brand", "parent": "default"}')
    (theme / "templates" / "mail" / "layout.html").write_text(
        "{# template-version: 1 #}<h1>BRAND {{ subject }}</h1>{% for p in paragraphs %}<p>{{ p }}</p>{% endfor %}")
    app = make_app(THEME="brand", THEMES_PATH=[str(tmp_path / "themes"), str(request.config.rootpath / "themes")])
    with app.app_context(), app.test_request_context("/"):
        from storefront.auth.models import User
        from storefront.auth.tokens import utcnow

        user = User(email="b@example.com", name="", created_at=utcnow())
        db.session.add(user)
        db.session.commit()
        send_mail(user.email, "password_changed", user=user)
        db.session.commit()
        html = mail.sent_messages(app)[-1].get_body(("html",)).get_content()
    assert html.startswith("<h1>BRAND Your Storefront password was changed</h1>")


def test_the_outbox_backend_writes_eml_files_for_the_demo(make_app, tmp_path):
    app = make_app(MAIL_BACKEND="outbox")
    with app.app_context(), app.test_request_context("/"):
        from storefront.auth.models import User
        from storefront.auth.tokens import utcnow

        user = User(email="o@example.com", name="", created_at=utcnow())
        db.session.add(user)
        db.session.commit()
        send_mail(user.email, "password_changed", user=user)
        db.session.commit()
        import os

        files = os.listdir(os.path.join(app.instance_path, "outbox"))
    assert len(files) == 1 and files[0].endswith(".eml")
