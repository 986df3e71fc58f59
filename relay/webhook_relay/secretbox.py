"""Route secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) under keys from the relay's
environment, never from its database, so a copy of the database alone reveals no secret.

`RELAY_SECRETS_KEYS` is comma-separated: the first key encrypts, every key decrypts. To
rotate it, put a new key first, restart, run `webhook-relay reencrypt-secrets`, then drop
the old key.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from webhook_relay.settings import ConfigError, RelaySettings


class SecretBox:
    def __init__(self, keys: Sequence[str]) -> None:
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                # Never echo the key itself.
                raise ConfigError(
                    f"RELAY_SECRETS_KEYS entry {position} is not a Fernet key "
                    "(32 url-safe base64-encoded bytes)"
                ) from None
        if not fernets:
            raise ConfigError("RELAY_SECRETS_KEYS is not set")
        self._fernet = MultiFernet(fernets)

    @classmethod
    def from_settings(cls, settings: RelaySettings) -> SecretBox:
        return cls(settings.secrets_key_list)

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "a stored route secret does not decrypt with any RELAY_SECRETS_KEYS entry"
            ) from None

    def reencrypt(self, token: str) -> str:
        """The same secret under the first key (MultiFernet.rotate)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "a stored route secret does not decrypt with any RELAY_SECRETS_KEYS entry"
            ) from None


def new_key() -> str:
    return Fernet.generate_key().decode()
