"""A customer's account journey in real Chromium against a real server, mail read from
the outbox the demo store writes (MAIL_BACKEND=outbox)."""
import email
import email.policy
import re
import time
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import expect

from storefront.testing import TEST_PASSWORD, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]
NEW_PASSWORD = "a brand new passphrase"


def latest_link(outbox: Path, path: str, seen: set) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for file in sorted(outbox.glob("*.eml")):
            if file.name in seen:
                continue
            seen.add(file.name)
            message = email.message_from_string(file.read_text(), policy=email.policy.default)
            body = message.get_body(("plain",)).get_content()
            match = re.search(rf"(http://\S+{path}/\S+)", body)
            if match:
                return match.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no mail with a {path} link arrived")


def next_totp(secret: str, after_step: int) -> tuple[str, int]:
    totp = pyotp.TOTP(secret)
    step = max(int(time.time()) // 30, after_step + 1)
    return totp.generate_otp(step), step


def test_register_verify_sign_in_enrol_mfa_sign_in_with_totp_and_reset_password(
        make_app, database_url, tmp_path, browser_page):
    page = browser_page
    config = {"DATABASE_URL": database_url, "SECRET_KEY": "journey-secret", "MAIL_BACKEND": "outbox",
              "REDIS_URL": None, "LOG_LEVEL": "WARNING"}
    make_app(**config)  # schema; emptied after the test
    instance = tmp_path / "instance"
    outbox, seen = instance / "outbox", set()
    with serve(config, instance_path=str(instance)) as base:
        page.goto(base + "/")
        page.click("text=Sign in")
        page.click("text=Create an account")
        page.fill("#name", "Journey Tester")
        page.fill("#email", "journey@example.com")
        page.fill("#password", TEST_PASSWORD)
        page.click("button:has-text('Create account')")
        expect(page.locator("body")).to_contain_text("Check your inbox")

        page.goto(latest_link(outbox, "/account/verify", seen))
        expect(page.locator("body")).to_contain_text("your e-mail address is confirmed")
        page.fill("#email", "journey@example.com")
        page.fill("#password", TEST_PASSWORD)
        page.click("button:has-text('Sign in')")
        assert page.url.endswith("/account/")

        page.click("text=Two-factor sign-in")
        secret = page.inner_text("[data-testid=mfa-secret]")
        expect(page.locator(".qr svg")).to_have_count(1)
        code, step = next_totp(secret, 0)
        page.fill("#code", code)
        page.click("button:has-text('Turn on')")
        expect(page.locator("[data-testid=recovery-codes] code")).to_have_count(10)
        recovery_codes = page.locator("[data-testid=recovery-codes] code").all_inner_texts()
        assert len(recovery_codes) == 10
        page.click("text=I have saved them")
        page.click("button:has-text('Sign out')")

        page.goto(base + "/account/login")
        page.fill("#email", "journey@example.com")
        page.fill("#password", TEST_PASSWORD)
        page.click("button:has-text('Sign in')")
        assert "/account/login/verify" in page.url
        code, step = next_totp(secret, step)
        page.fill("#code", code)
        page.click("button:has-text('Verify')")
        assert page.url.endswith("/account/")
        expect(page.locator("body")).to_contain_text("Your account")
        page.click("button:has-text('Sign out')")

        page.goto(base + "/account/login")
        page.click("text=Forgot your password?")
        page.fill("#email", "journey@example.com")
        page.click("button:has-text('Send the link')")
        page.goto(latest_link(outbox, "/account/reset", seen))
        page.fill("#password", NEW_PASSWORD)
        page.click("button:has-text('Save the new password')")
        expect(page.locator("body")).to_contain_text("Your password is changed")
        page.fill("#email", "journey@example.com")
        page.fill("#password", NEW_PASSWORD)
        page.click("button:has-text('Sign in')")
        page.fill("#code", recovery_codes[0])
        page.click("button:has-text('Verify')")
        assert page.url.endswith("/account/")
        expect(page.locator("body")).to_contain_text("9 remain")
