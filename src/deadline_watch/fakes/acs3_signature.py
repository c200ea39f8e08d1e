"""The ACS3-HMAC-SHA256 request signature of Alibaba Cloud's SDK, checked by the fake Aliyun.

The SDK signs a canonical request (method, path, sorted query, the signed headers, the
payload's SHA-256) with the AccessKey secret and sends it in `Authorization`; the fake
recomputes it and answers the gateway's error code when it does not match.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import quote

ALGORITHM = "ACS3-HMAC-SHA256"
# headers the SDK always signs; a request signing fewer is incomplete
REQUIRED_SIGNED = frozenset({"host", "x-acs-action", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"})
_AUTHORIZATION = re.compile(
    r"^ACS3-HMAC-SHA256\s+Credential=(?P<ak>[^,]+),\s*SignedHeaders=(?P<headers>[^,]+),\s*Signature=(?P<sig>[0-9a-f]+)$"
)


def canonical_query(pairs: list[tuple[str, str]]) -> str:
    """The signed form of the query string: sorted keys, values percent-encoded (RFC 3986)."""
    return "&".join(f"{key}={quote(value, safe='~')}" for key, value in sorted(pairs))


def acs3_signature(
    secret: str, *, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str],
    signed_headers: list[str], payload_hash: str,
) -> str:
    """HMAC-SHA256 over the ACS3 canonical request (what the SDK signs)."""
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in signed_headers)
    canonical_request = "\n".join(
        [method, path or "/", canonical_query(query), canonical_headers, ";".join(signed_headers), payload_hash]
    )
    to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()}"
    return hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def signature_problem(
    access_key_id: str, access_key_secret: str, *, method: str, path: str, query: list[tuple[str, str]],
    headers: dict[str, str], body: bytes,
) -> str | None:
    """None when the request is signed with this AccessKey, else the gateway's error code.

    `headers` have lower-case names."""
    matched = _AUTHORIZATION.match(headers.get("authorization", "").strip())
    if matched is None:
        return "IncompleteSignature"
    if matched["ak"] != access_key_id:
        return "InvalidAccessKeyId.NotFound"
    payload_hash = hashlib.sha256(body).hexdigest()
    if headers.get("x-acs-content-sha256") != payload_hash:
        return "SignatureDoesNotMatch"
    signed = matched["headers"].split(";")
    if not REQUIRED_SIGNED <= set(signed):
        return "IncompleteSignature"
    expected = acs3_signature(
        access_key_secret, method=method, path=path, query=query, headers=headers,
        signed_headers=signed, payload_hash=payload_hash,
    )
    return None if hmac.compare_digest(expected, matched["sig"]) else "SignatureDoesNotMatch"
