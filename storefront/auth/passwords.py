"""Password hashing and the password policy."""
from __future__ import annotations

import os
from functools import lru_cache

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

_COMMON_PASSWORDS_FILE = os.path.join(os.path.dirname(__file__), "common_passwords.txt")


def hash_password(password: str) -> str:
    # The method (PASSWORD_HASH_METHOD, scrypt unless set) and its cost are stored in the
    # hash, so hashes made with an older setting keep verifying.
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Same work as a real check, so timing does not tell which accounts exist.
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return False
    return check_password_hash(password_hash, password)


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not-a-real-password", method=method)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with open(_COMMON_PASSWORDS_FILE, encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip() and not line.startswith("#"))


def password_problems(password: str, email: str = "") -> list[str]:
    """Why ``password`` is not acceptable, in words a customer understands ([] if fine)."""
    problems = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        problems.append(f"Use at least {minimum} characters.")
    if len(password) > 256:
        problems.append("Use at most 256 characters.")
    lowered = password.lower()
    if email and (lowered == email.lower() or lowered == email.lower().split("@")[0]):
        problems.append("Do not use your e-mail address as your password.")
    if lowered in common_passwords():
        problems.append("This password is one of the most commonly used; choose a less guessable one.")
    return problems
