"""A software WebAuthn authenticator for tests without a browser: a real P-256 key pair, the real
CBOR attestation ("none" format) and real ECDSA assertions, built as an authenticator builds them, so
the server's verification (py_webauthn) runs unchanged. The browser test uses Chromium's own virtual
authenticator instead (tests/browser/test_passkeys_flow.py)."""

import base64
import hashlib
import json
import secrets
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    def __init__(self, origin="http://testserver", counter=0):
        self.origin = origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.counter = counter

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict, origin: str | None = None) -> str:
        """navigator.credentials.create(): the credential JSON the page posts back."""
        rp_hash = hashlib.sha256(options["rp"]["id"].encode()).digest()
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
        auth_data = rp_hash + bytes([UP | UV | AT]) + struct.pack(">I", self.counter) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return json.dumps({"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                           "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                                        "transports": ["internal"]},
                           "clientExtensionResults": {}})

    def get(self, options: dict, origin: str | None = None, counter: int | None = None) -> str:
        """navigator.credentials.get(): a signed assertion of the challenge."""
        allowed = [d["id"] for d in options.get("allowCredentials") or []]
        assert b64url(self.credential_id) in allowed, "the server did not offer this credential"
        self.counter = self.counter + 1 if counter is None else counter
        rp_hash = hashlib.sha256(options["rpId"].encode()).digest()
        auth_data = rp_hash + bytes([UP | UV]) + struct.pack(">I", self.counter)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps({"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                           "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                                        "signature": b64url(signature)},
                           "clientExtensionResults": {}})
