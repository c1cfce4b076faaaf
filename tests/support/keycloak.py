"""A real Keycloak for the tests, and a person driving it: its own HTML pages over HTTP, mails from a real catcher.

`kc` below is the session fixture `keycloak` (tests/conftest.py), a `TestKeycloak`. Nothing here fakes
Keycloak: forms are the ones it renders, codes are exchanged at its token endpoint with the stint-web
client's secret and the PKCE verifier.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from devservers import free_port
from devservers.keycloak import KeycloakServer
from devservers.keycloak_admin import KeycloakAdmin, names_from
from tests.support.smtp import MailCatcher

AUDIENCE = "stint-api"


@dataclass
class TestKeycloak:
    """The session's Keycloak with the stint realm, and what a service or the web needs to use it."""

    server: KeycloakServer
    mail: MailCatcher
    admin: KeycloakAdmin
    web_port: int  # free port reserved for a web started later in the session (STINT_WEB_URL)
    web_client_secret: str
    accounts_client_secret: str
    web_client_id: str = "stint-web"
    accounts_client_id: str = "stint-accounts"
    realm: str = "stint"
    audience: str = AUDIENCE

    __test__ = False  # not a test class, whatever its name

    @property
    def url(self) -> str:
        """Keycloak's base URL, http://127.0.0.1:PORT."""
        return self.server.url

    @property
    def issuer(self) -> str:
        """The stint realm's `iss`."""
        return self.server.issuer

    @property
    def jwks_url(self) -> str:
        """The stint realm's signing keys."""
        return self.server.jwks_url

    @property
    def web_url(self) -> str:
        """STINT_WEB_URL the realm was imported with: where a web started in this session must listen."""
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def web_redirect_uri(self) -> str:
        """The only redirect URI stint-web accepts."""
        return f"{self.web_url}/auth/callback"

    def env(self) -> dict[str, str]:
        """The STINT_* settings a service or the web needs to trust and use this Keycloak."""
        return {
            "STINT_KEYCLOAK_URL": self.url,
            "STINT_KEYCLOAK_REALM": self.realm,
            "STINT_AUTH_ISSUER": self.issuer,
            "STINT_AUTH_AUDIENCE": self.audience,
            "STINT_AUTH_JWKS_URL": self.jwks_url,
            "STINT_WEB_URL": self.web_url,
            "STINT_WEB_CLIENT_ID": self.web_client_id,
            "STINT_WEB_CLIENT_SECRET": self.web_client_secret,
            "STINT_ACCOUNTS_CLIENT_ID": self.accounts_client_id,
            "STINT_ACCOUNTS_CLIENT_SECRET": self.accounts_client_secret,
        }


@contextlib.contextmanager
def running_keycloak(data_dir, mail: MailCatcher, timeout: float = 180.0) -> Iterator[TestKeycloak]:
    """Start Keycloak on free ports with the stint realm, its mail going to `mail`; stop it at the end."""
    web_port = free_port()
    secrets_ = {name: secrets.token_urlsafe(24) for name in ("admin", "web", "accounts")}
    server = KeycloakServer(
        data_dir,
        admin_password=secrets_["admin"],
        realm_settings={
            "STINT_WEB_URL": f"http://127.0.0.1:{web_port}",
            "STINT_WEB_CLIENT_SECRET": secrets_["web"],
            "STINT_ACCOUNTS_CLIENT_SECRET": secrets_["accounts"],
            "STINT_SMTP_URL": mail.url,
        },
    )
    server.start(timeout=timeout)
    try:
        yield TestKeycloak(
            server=server,
            mail=mail,
            admin=KeycloakAdmin(server.url, secrets_["admin"]),
            web_port=web_port,
            web_client_secret=secrets_["web"],
            accounts_client_secret=secrets_["accounts"],
        )
    finally:
        server.stop()


def unique_email(who: str = "person") -> str:
    """An email address no other test uses."""
    return f"{who}-{secrets.token_hex(4)}@example.org"


class SignInRefused(AssertionError):
    """Keycloak answered with a page instead of sending the person back to Stint with a code."""

    def __init__(self, page: Page) -> None:
        super().__init__(f"sign-in did not complete; Keycloak said: {page.message or page.text[:300]}")
        self.page = page


@dataclass
class Form:
    """One <form> on a page: where it posts, and the values its inputs hold."""

    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, Form] = {}
        self.links: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._form: Form | None = None
        self._link: str | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "form":
            self._form = Form(a.get("action", ""))
            self.forms[a.get("id") or f"form{len(self.forms)}"] = self._form
        elif tag == "input" and self._form is not None and a.get("name"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self._form.fields[a["name"]] = a.get("value", "")
        elif tag == "a" and a.get("href"):
            self._link = a["href"]
            self.links.append((self._link, ""))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "form":
            self._form = None
        elif tag == "a":
            self._link = None

    def handle_data(self, data):
        if self._skip or not data.strip():
            return
        self.text.append(data.strip())
        if self._link is not None:
            href, text = self.links[-1]
            self.links[-1] = (href, f"{text} {data.strip()}".strip())


@dataclass
class Page:
    """A page Keycloak rendered, read the way a person reads it: visible text, forms, links."""

    response: requests.Response
    forms: dict[str, Form]
    links: list[tuple[str, str]]
    text: str

    @classmethod
    def of(cls, response: requests.Response) -> Page:
        """Parse a Keycloak HTML response."""
        parser = _PageParser()
        parser.feed(response.text)
        return cls(response, parser.forms, parser.links, " ".join(parser.text))

    @property
    def message(self) -> str:
        """The alert or field error Keycloak shows at the top of the form ('' if none)."""
        found = re.findall(
            r'class="[^"]*(?:kc-feedback-text|pf-v5-c-alert__title|pf-v5-c-helper-text__item-text)[^"]*"[^>]*>\s*([^<]+)',
            self.response.text,
        )
        return " ".join(unescape(text.strip()) for text in found if text.strip())

    def form(self, form_id: str) -> Form:
        """The form with this id; AssertionError naming the page when it is not there."""
        if form_id not in self.forms:
            raise AssertionError(f"no form {form_id!r} on the page; it says: {self.text[:300]}")
        return self.forms[form_id]

    def link(self, pattern: str) -> str:
        """The absolute URL of the first link whose href matches pattern."""
        for href, _text in self.links:
            if re.search(pattern, href):
                return urljoin(self.response.url, unescape(href))
        raise AssertionError(f"no link matching {pattern!r}; the page says: {self.text[:300]}")


class _BrowserSession(requests.Session):
    """Browsers treat http://127.0.0.1 as a secure context and send Keycloak's Secure cookies there; so does this."""

    def prepare_request(self, request):
        """Let the loopback host's Secure cookies go over http, as a browser does."""
        for cookie in self.cookies:
            if cookie.domain in ("127.0.0.1", "localhost"):
                cookie.secure = False
        return super().prepare_request(request)


@dataclass
class Browser:
    """One person's browser on the stint-web client: cookies, and the PKCE verifier of the sign-in under way."""

    kc: object
    client_id: str = ""  # default: stint-web, with its redirect URI and secret
    redirect_uri: str = ""
    client_secret: str | None = None
    session: requests.Session = field(default_factory=_BrowserSession)
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    def __post_init__(self) -> None:
        if not self.client_id:
            self.client_id, self.redirect_uri = self.kc.web_client_id, self.kc.web_redirect_uri
            self.client_secret = self.kc.web_client_secret

    def open_sign_in(self) -> Page:
        """Follow stint-web's link to Keycloak's sign-in page (authorization code request, PKCE S256)."""
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        response = self.session.get(
            f"{self.kc.issuer}/protocol/openid-connect/auth",
            params={
                "client_id": self.client_id,
                "response_type": "code",
                "scope": "openid",
                "redirect_uri": self.redirect_uri,
                "state": self.state,
                "nonce": secrets.token_urlsafe(16),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            timeout=30,
        )
        assert response.status_code == 200, response.text[:500]
        return Page.of(response)

    def submit(self, form: Form, **values: str) -> tuple[Page | None, str | None]:
        """Post a form as Keycloak rendered it, with values typed in; return (page shown, code) — one is None."""
        response = self.session.post(form.action, data={**form.fields, **values}, allow_redirects=False, timeout=30)
        return self.follow(response)

    def get(self, url: str) -> tuple[Page | None, str | None]:
        """Open a URL (a link from a mail, say); return (page shown, code) like submit."""
        return self.follow(self.session.get(url, allow_redirects=False, timeout=30))

    def follow(self, response: requests.Response) -> tuple[Page | None, str | None]:
        """Follow Keycloak's redirects until a page, or until it sends the browser to stint-web with a code."""
        while response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(self.redirect_uri):
                query = parse_qs(urlsplit(location).query)
                assert query.get("state") == [self.state], location
                return None, query["code"][0]
            response = self.session.get(location, allow_redirects=False, timeout=30)
        return Page.of(response), None

    def exchange(self, code: str) -> dict:
        """What stint-web does with the code: trade it, with its secret and the PKCE verifier, for tokens."""
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        data["code_verifier"] = self.verifier
        if self.client_secret is None:  # a public client (the account console) names itself
            data["client_id"] = self.client_id
        auth = (self.client_id, self.client_secret) if self.client_secret is not None else None
        response = requests.post(f"{self.kc.issuer}/protocol/openid-connect/token", data=data, auth=auth, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


def register(kc, email: str, password: str, first: str = "Ada", last: str = "Lovelace") -> Page:
    """Fill in Keycloak's registration form; return the next page (verify your email, or the form with errors)."""
    browser = Browser(kc)
    page = browser.open_sign_in()
    registration = browser.get(page.link(r"login-actions/registration"))[0]
    form = registration.form("kc-register-form")
    shown, code = browser.submit(
        form, email=email, firstName=first, lastName=last, password=password, **{"password-confirm": password}
    )
    assert code is None, "registration signed the person in before they verified their email"
    return shown


def verification_link(mail, email: str, timeout: float = 15.0) -> str:
    """The link in the newest verification mail Keycloak sent to email (waits for it to arrive)."""
    deadline = time.monotonic() + timeout
    while True:
        for message in reversed(mail.to(email)):
            body = message.get_body(("plain", "html")).get_content()
            found = re.search(r"https?://\S+/login-actions/action-token\?[^\s\"<>]+", body)
            if found:
                return unescape(found.group(0))
        if time.monotonic() > deadline:
            raise AssertionError(f"no verification mail to {email} within {timeout:.0f}s")
        time.sleep(0.2)


def open_verification_link(kc, url: str) -> Page:
    """Open the mail's link in a fresh browser and confirm, as Keycloak asks; return the final page."""
    browser = Browser(kc)
    page, _code = browser.get(url)
    for _ in range(3):  # "Confirm validity of e-mail address" -> "Click here to proceed"
        proceed = [href for href, _text in page.links if "login-actions/action-token" in href]
        if not proceed:
            return page
        page, _code = browser.get(urljoin(page.response.url, unescape(proceed[0])))
        if page is None:
            break
    return page


def try_sign_in(
    kc, email: str, password: str, browser: Browser | None = None
) -> tuple[Browser, Page | None, str | None]:
    """Type email and password into Keycloak's sign-in form; return (browser, page shown, code)."""
    browser = browser or Browser(kc)
    form = browser.open_sign_in().form("kc-form-login")
    page, code = browser.submit(form, username=email, password=password)
    return browser, page, code


def sign_in(kc, email: str, password: str) -> dict:
    """Sign in through the real authorization code flow with PKCE; return Keycloak's token response."""
    browser, page, code = try_sign_in(kc, email, password)
    if code is None:
        raise SignInRefused(page)
    return browser.exchange(code)


def account_console_token(kc, email: str, password: str) -> str:
    """Sign in to Keycloak's own account console (public client, PKCE); return its access token for /account."""
    browser = Browser(kc, "account-console", f"{kc.issuer}/account/")
    browser, page, code = try_sign_in(kc, email, password, browser)
    if code is None:
        raise SignInRefused(page)
    return browser.exchange(code)["access_token"]


def create_user(
    kc, email: str, password: str, role: str | None = None, org: str | None = None, verified: bool = True, name=None
) -> str:
    """Create an account through the admin REST API (what an admin does by hand); return its id."""
    first, last = names_from(name, email)
    return kc.admin.create_user(email, password, name=f"{first} {last}", role=role, org=org, verified=verified)
