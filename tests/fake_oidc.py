"""A local HTTP server speaking the sign-in providers' wire formats: an OpenID Connect provider (discovery
document, authorize, token with PKCE, JWKS with an RS256 key, userinfo) shaped as Google's, and GitHub's
OAuth 2.0 (authorize, access_token, /user, /user/emails). Codes are single-use, bound to the client, the
redirect URI and the PKCE challenge, as a real provider's are."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class FakeProvider:
    """``user``: who signs in next (email, email_verified, name, sub). ``codes``: issued codes."""

    def __init__(self, client_id: str = "cid", client_secret: str = "csecret") -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.user = {
            "sub": "1001",
            "email": "new.person@example.com",
            "email_verified": True,
            "name": "New Person",
        }
        self.codes: dict[str, dict] = {}
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})
        self.token_requests: list[dict] = []
        self.override: dict = {}  # claims the next ID tokens get instead (a forged audience, nonce ...)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    return self._json(200, fake.discovery())
                if url.path == "/jwks":
                    return self._json(200, KeySet([fake.key]).as_dict(private=False))
                if url.path in ("/authorize", "/login/oauth/authorize"):
                    return self._authorize(q)
                if url.path in ("/user", "/user/emails", "/userinfo"):
                    return self._api(url.path)
                self._json(404, {"error": "not_found"})

            def _authorize(self, q: dict) -> None:
                if q.get("client_id") != fake.client_id or q.get("code_challenge_method") != "S256":
                    return self._json(400, {"error": "invalid_request"})
                code = secrets.token_urlsafe(16)
                fake.codes[code] = {
                    "challenge": q.get("code_challenge"),
                    "redirect_uri": q.get("redirect_uri"),
                    "nonce": q.get("nonce"),
                    "user": dict(fake.user),
                    "used": False,
                }
                self.send_response(302)
                self.send_header(
                    "Location", f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
                )
                self.end_headers()

            def _api(self, path: str) -> None:
                token = (self.headers.get("Authorization") or "")[7:]
                user = fake.tokens.get(token)
                if user is None:
                    return self._json(401, {"message": "Bad credentials"})
                if path == "/user/emails":
                    return self._json(
                        200, [{"email": user["email"], "primary": True, "verified": user["email_verified"]}]
                    )
                return self._json(200, {"id": int(user["sub"]), "login": "someone", "name": user["name"]})

            def do_POST(self) -> None:
                form = {
                    k: v[0]
                    for k, v in parse_qs(
                        self.rfile.read(int(self.headers["Content-Length"])).decode()
                    ).items()
                }
                fake.token_requests.append(form)
                auth = self.headers.get("Authorization") or ""
                if auth.startswith("Basic "):
                    cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                else:
                    cid, secret = form.get("client_id", ""), form.get("client_secret", "")
                if (cid, secret) != (fake.client_id, fake.client_secret):
                    return self._json(401, {"error": "invalid_client"})
                grant = fake.codes.get(form.get("code", ""))
                if (
                    grant is None
                    or grant["used"]
                    or grant["redirect_uri"] != form.get("redirect_uri")
                    or grant["challenge"] != s256(form.get("code_verifier", ""))
                ):
                    return self._json(400, {"error": "invalid_grant"})
                grant["used"] = True
                access = secrets.token_urlsafe(16)
                fake.tokens[access] = grant["user"]
                body = {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
                if self.path == "/token":  # the OpenID provider also issues an ID token
                    body["id_token"] = fake.id_token(grant)
                self._json(200, body)

            def log_message(self, *_args: object) -> None:
                pass

        self.tokens: dict[str, dict] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def discovery(self) -> dict:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def id_token(self, grant: dict, **override: object) -> str:
        now = int(time.time())
        claims = (
            {
                "iss": self.url,
                "aud": self.client_id,
                "sub": grant["user"]["sub"],
                "email": grant["user"]["email"],
                "email_verified": grant["user"]["email_verified"],
                "name": grant["user"]["name"],
                "nonce": grant["nonce"],
                "iat": now,
                "exp": now + 600,
            }
            | self.override
            | override
        )
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)

    def __enter__(self) -> FakeProvider:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
