"""Standard Webhooks secrets: `whsec_` + base64 of the raw HMAC key.

The relay issues and verifies such secrets; the platform's signed alert webhooks use the same
format, so both read the prefix from here.
"""

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
