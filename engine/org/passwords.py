"""Password hashes: scrypt from the standard library, encoded with its parameters.

A hash reads ``scrypt$16384$8$1$<salt, base64>$<key, base64>``, so the cost
can be raised later: ``needs_rehash`` tells a hash made with other
parameters, and ``OrgService.authenticate`` rehashes on the next good login.
Passwords are NFC-normalised first, so the same characters typed on two
keyboards give the same hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import unicodedata

from engine.core.errors import ValidationError
from engine.core.i18n import Label, Message

SCHEME = "scrypt"
N = 2**14
R = 8
P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_LENGTH = 8
MAX_LENGTH = 1024
# Parameters a stored hash may ask for; anything beyond would let a forged
# hash make one verification take minutes.
MAX_N, MAX_R, MAX_P = 2**20, 32, 16

EMPTY = Label("密码不能为空", "The password cannot be empty")
TOO_SHORT = Message("密码至少需要 {min} 个字符", "The password needs at least {min} characters")
TOO_LONG = Message("密码不能超过 {max} 个字符", "The password can have at most {max} characters")


def password_problems(password: str) -> list[Label]:
    """What is wrong with ``password`` as a new password (empty when nothing)."""
    if not password:
        return [EMPTY]
    if len(password) < MIN_LENGTH:
        return [TOO_SHORT.format(min=MIN_LENGTH)]
    if len(password) > MAX_LENGTH:
        return [TOO_LONG.format(max=MAX_LENGTH)]
    return []


def check_password(password: str) -> None:
    """Refuse an unusable new password with a ``ValidationError`` on ``password``."""
    problems = password_problems(password)
    if problems:
        raise ValidationError(problems[0], field_errors={"password": problems})


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    # OpenSSL refuses to use more than 32 MiB unless told; scrypt needs about 128*n*r bytes.
    maxmem = 128 * r * (n + p + 2) + 1024 * 1024
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=length)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """The encoded hash of a new password (checked first: see ``check_password``)."""
    check_password(password)
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, N, R, P, KEY_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(key)}"


def _decode(encoded: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        return None
    power_of_two = n > 1 and n & (n - 1) == 0
    if not (power_of_two and n <= MAX_N and 0 < r <= MAX_R and 0 < p <= MAX_P and salt and key):
        return None
    return n, r, p, salt, key


def verify_password(password: str, encoded: str | None) -> bool:
    """Whether ``password`` matches the hash; compared in constant time. A
    missing or malformed hash matches nothing."""
    decoded = _decode(encoded) if encoded else None
    if decoded is None:
        return False
    n, r, p, salt, key = decoded
    return hmac.compare_digest(_derive(password, salt, n, r, p, len(key)), key)


def needs_rehash(encoded: str | None) -> bool:
    """Whether the hash was made with other parameters than today's (or is
    not a hash we can read)."""
    decoded = _decode(encoded) if encoded else None
    if decoded is None:
        return True
    n, r, p, salt, key = decoded
    return (n, r, p, len(salt), len(key)) != (N, R, P, SALT_BYTES, KEY_BYTES)


# A real hash of a random password: checked against when a login is unknown,
# so an unknown login takes as long to refuse as a wrong password.
DUMMY_HASH = f"{SCHEME}${N}${R}${P}${_b64(b'0' * SALT_BYTES)}${_b64(b'1' * KEY_BYTES)}"
