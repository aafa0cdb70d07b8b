"""A small OpenID Connect provider for tests: discovery, an authorization endpoint that signs in whoever the
test names (no form), a token endpoint that returns an RS256-signed ID token, and the JWKS.

It runs in a thread of the test process on loopback; ``provider.email`` is the next user it signs in.
Real HTTP and a real signature, so Streamlit's ``st.login`` (Authlib) checks the token as it would a real
identity provider's.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "studio-test"
CLIENT_SECRET = "studio-test-client-secret"  # a test value, not a secret


class OidcProvider:
    def __init__(self, email: str = "alice@example.com", name: str = "Alice") -> None:
        from authlib.jose import JsonWebKey
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.jwk = {**JsonWebKey.import_key(public, {"kty": "RSA"}).as_dict(), "kid": "k1", "use": "sig"}
        self.email, self.name = email, name
        self._codes: dict[str, dict] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OidcProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def secrets_toml(self, redirect_uri: str) -> str:
        """The ``[auth]`` section Studio's UI reads (``.streamlit/secrets.toml``)."""
        return (
            "[auth]\n"
            f'redirect_uri = "{redirect_uri}"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            f'client_id = "{CLIENT_ID}"\n'
            f'client_secret = "{CLIENT_SECRET}"\n'
            f'server_metadata_url = "{self.url}/.well-known/openid-configuration"\n'
        )

    def _id_token(self, nonce: str | None) -> str:
        from authlib.jose import jwt

        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": self.email,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 600,
            "email": self.email,
            "email_verified": True,
            "name": self.name,
        }
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self._private).decode()

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _json(self, data: dict, status: int = 200) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._json(
                        {
                            "issuer": provider.url,
                            "authorization_endpoint": f"{provider.url}/authorize",
                            "token_endpoint": f"{provider.url}/token",
                            "jwks_uri": f"{provider.url}/jwks",
                            "userinfo_endpoint": f"{provider.url}/userinfo",
                            "response_types_supported": ["code"],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256"],
                            "token_endpoint_auth_methods_supported": [
                                "client_secret_basic",
                                "client_secret_post",
                            ],
                            "scopes_supported": ["openid", "profile", "email"],
                        }
                    )
                elif url.path == "/jwks":
                    self._json({"keys": [provider.jwk]})
                elif url.path == "/authorize":  # signs in ``provider.email`` at once
                    code = secrets.token_urlsafe(16)
                    provider._codes[code] = {"nonce": query.get("nonce")}
                    back = {"code": code, "state": query.get("state", "")}
                    self.send_response(302)
                    self.send_header("Location", f"{query['redirect_uri']}?{urlencode(back)}")
                    self.end_headers()
                elif url.path == "/userinfo":
                    self._json({"sub": provider.email, "email": provider.email, "name": provider.name})
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path != "/token" or form.get("code") not in provider._codes:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                grant = provider._codes.pop(form["code"])
                self._json(
                    {
                        "access_token": secrets.token_urlsafe(16),
                        "token_type": "Bearer",
                        "expires_in": 600,
                        "id_token": provider._id_token(grant["nonce"]),
                    }
                )

        return Handler
