"""Password hashes: format, verification, rehashing, and refused passwords."""

from __future__ import annotations

import base64

import pytest

from engine.core.errors import ValidationError
from engine.org import passwords
from engine.org.passwords import hash_password, needs_rehash, verify_password


def test_the_hash_names_its_algorithm_and_parameters() -> None:
    encoded = hash_password("correct horse")
    scheme, n, r, p, salt, key = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(key)) == 32
    assert "correct horse" not in encoded


def test_the_same_password_hashes_differently_each_time() -> None:
    assert hash_password("correct horse") != hash_password("correct horse")


def test_verify_accepts_the_password_and_refuses_others() -> None:
    encoded = hash_password("correct horse")
    assert verify_password("correct horse", encoded)
    assert not verify_password("correct horsf", encoded)
    assert not verify_password("", encoded)
    assert not verify_password("correct horse", None)


def test_unicode_is_normalised_before_hashing() -> None:
    composed, decomposed = "密码café-2026", "密码cafe\u0301-2026"
    assert verify_password(decomposed, hash_password(composed))


@pytest.mark.parametrize("broken", [
    "", "scrypt", "bcrypt$16384$8$1$c2FsdA==$a2V5", "scrypt$x$8$1$c2FsdA==$a2V5",
    "scrypt$16384$8$1$not base64$a2V5", "scrypt$1000$8$1$c2FsdA==$a2V5",
    "scrypt$1073741824$8$1$c2FsdA==$a2V5",
])
def test_a_malformed_or_hostile_hash_matches_nothing(broken: str) -> None:
    assert not verify_password("anything at all", broken)
    assert needs_rehash(broken)


def test_needs_rehash_tells_old_parameters() -> None:
    assert not needs_rehash(hash_password("correct horse"))
    salt = b"s" * 16
    key = passwords._derive("correct horse", salt, 2**12, 8, 1, 32)
    weaker = f"scrypt$4096$8$1${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"
    assert verify_password("correct horse", weaker)
    assert needs_rehash(weaker)


@pytest.mark.parametrize(("password", "zh", "en"), [
    ("", "密码不能为空", "The password cannot be empty"),
    ("short", "密码至少需要 8 个字符", "The password needs at least 8 characters"),
    ("x" * 1025, "密码不能超过 1024 个字符", "The password can have at most 1024 characters"),
])
def test_unusable_passwords_are_refused_in_both_languages(password: str, zh: str, en: str) -> None:
    with pytest.raises(ValidationError) as raised:
        hash_password(password)
    assert raised.value.text("zh") == zh and str(raised.value) == en
    assert raised.value.as_dict("en")["details"] == {"password": [en]}


def test_eight_characters_are_enough() -> None:
    assert verify_password("12345678", hash_password("12345678"))
