"""Standard Webhooks signing, through the reference library: secrets, headers, verification."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64


class SignatureInvalid(Exception):
    """Missing, malformed, stale or non-matching signature headers."""


def secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature_header(*, secrets_: list[str], message_id: str, timestamp: datetime, body: str) -> str:
    """``v1,<sig>`` per secret, space-separated: during a rotation the receiver may hold either."""
    return " ".join(
        StandardWebhook(secret).sign(msg_id=message_id, timestamp=timestamp.astimezone(UTC), data=body)
        for secret in secrets_
    )


def delivery_headers(*, secrets_: list[str], message_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(secrets_=secrets_, message_id=message_id, timestamp=timestamp, body=body),
    }


def verify(*, secret: str, body: bytes, headers: dict[str, str]) -> None:
    """Raises ``SignatureInvalid`` unless ``headers`` sign ``body`` within the library's ±5 minutes."""
    try:
        StandardWebhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError as exc:
        raise SignatureInvalid(str(exc)) from None
    except (ValueError, TypeError, UnicodeDecodeError):
        # The library splits and base64-decodes what the sender wrote without guarding it.
        raise SignatureInvalid("Malformed signature headers") from None
