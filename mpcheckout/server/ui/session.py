"""The status page's session: a signed, expiring cookie holding who signed in, the chosen
language and the CSRF token. No server-side state, so every worker process accepts it.

The signing key is derived from the sign-in token: changing the token signs everyone out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace

COOKIE = "mpcheckout_ui"
_CONTEXT = b"mpcheckout ui session v1"


@dataclass(slots=True, frozen=True)
class Session:
    signed_in: bool
    lang: str | None
    csrf: str
    expires: int  # unix seconds

    @classmethod
    def anonymous(cls, lang: str | None, now: float, minutes: int) -> Session:
        return cls(False, lang, secrets.token_urlsafe(24), int(now) + minutes * 60)

    def signed_in_until(self, now: float, minutes: int) -> Session:
        # A new CSRF token at sign-in: one an attacker planted before it is worth nothing.
        return replace(
            self, signed_in=True, csrf=secrets.token_urlsafe(24), expires=int(now) + minutes * 60
        )

    def with_lang(self, lang: str) -> Session:
        return replace(self, lang=lang)


class SessionCodec:
    def __init__(self, token: str) -> None:
        self._key = hmac.new(token.encode(), _CONTEXT, hashlib.sha256).digest()

    def dump(self, session: Session) -> str:
        body = json.dumps(
            [session.signed_in, session.lang, session.csrf, session.expires], separators=(",", ":")
        ).encode()
        encoded = base64.urlsafe_b64encode(body).rstrip(b"=")
        return f"{encoded.decode()}.{self._sign(encoded)}"

    def load(self, cookie: str | None, now: float) -> Session | None:
        """The session, or None when the cookie is absent, forged, malformed or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        encoded, signature = cookie.split(".")
        if not hmac.compare_digest(self._sign(encoded.encode()), signature):
            return None
        try:
            padded = encoded + "=" * (-len(encoded) % 4)
            signed_in, lang, csrf, expires = json.loads(base64.urlsafe_b64decode(padded))
            session = Session(bool(signed_in), lang, str(csrf), int(expires))
        except (ValueError, TypeError):
            return None
        return session if session.expires > now else None

    def _sign(self, encoded: bytes) -> str:
        digest = hmac.new(self._key, encoded, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
