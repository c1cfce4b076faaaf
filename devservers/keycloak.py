"""A real Keycloak for tests and local runs, from the cached install, with the Stint realm imported at start."""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from . import build
from ._process import ManagedServer, ServerError

ROOT = Path(__file__).resolve().parent.parent
REALM_FILE = ROOT / "identity" / "stint-realm.json"
REALM = "stint"
ADMIN_USER = "admin"  # the master realm's bootstrap admin
# The realm file's ${...} placeholders that have no default: Keycloak would import them literally.
REALM_PLACEHOLDERS = ("STINT_WEB_URL", "STINT_WEB_CLIENT_SECRET", "STINT_ACCOUNTS_CLIENT_SECRET")
# What a run's own Keycloak home links to in the shared install; it writes only under its own data/.
_SHARED_PARTS = ("lib", "conf", "themes", "providers", "version.txt")


def realm_env(settings: dict[str, str]) -> dict[str, str]:
    """The values the realm file's placeholders take, from Stint's settings (STINT_SMTP_URL gives host and port)."""
    missing = [name for name in REALM_PLACEHOLDERS if not settings.get(name)]
    if missing:
        raise ServerError(f"keycloak needs {', '.join(missing)} to import the realm")
    values = {
        name: settings[name].rstrip("/") if name == "STINT_WEB_URL" else settings[name] for name in REALM_PLACEHOLDERS
    }
    smtp = urlsplit(settings.get("STINT_SMTP_URL") or "smtp://127.0.0.1:1025")
    values["STINT_SMTP_HOST"] = smtp.hostname or "127.0.0.1"
    values["STINT_SMTP_PORT"] = str(smtp.port or 25)
    return values


class KeycloakServer(ManagedServer):
    """Keycloak `start --optimized` on 127.0.0.1 (embedded H2 file database), importing identity/stint-realm.json.

    Several runs may share the cached install at once: each gets its own Keycloak home under its data dir
    (a copy of kc.sh, links to the read-only install, its own data/ with the database and the import).
    """

    name = "keycloak"

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        port: int | None = None,
        management_port: int | None = None,
        *,
        admin_password: str = "",
        realm_settings: dict[str, str] | None = None,
        heap: str = "512m",
        parent_death_signal: bool = True,
    ) -> None:
        super().__init__(data_dir, parent_death_signal=parent_death_signal)
        self.port = port
        self.management_port = management_port
        self.admin_password = admin_password
        self.realm_settings = dict(realm_settings or {})  # checked at start: stop and status need none
        self.heap = heap

    @property
    def url(self) -> str:
        """Return the base URL, "http://127.0.0.1:PORT" (also the hostname Keycloak puts in its tokens)."""
        if self.port is None:
            raise ServerError("keycloak has no port yet: call start() first")
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        """Return the `iss` of the stint realm's tokens."""
        return f"{self.url}/realms/{REALM}"

    @property
    def jwks_url(self) -> str:
        """Return the URL of the stint realm's signing keys."""
        return f"{self.issuer}/protocol/openid-connect/certs"

    @property
    def account_console_url(self) -> str:
        """Return the account console, where a person manages their own sign-in."""
        return f"{self.issuer}/account"

    def _home(self) -> Path:
        """Lay out this run's Keycloak home over the shared install; return it."""
        install = build.keycloak_home()
        home = self.data_dir / "home"
        (home / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(install / "bin" / "kc.sh", home / "bin" / "kc.sh")  # kc.sh finds its home from its own path
        for part in _SHARED_PARTS:
            link = home / part
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(install / part)
        imports = home / "data" / "import"
        imports.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REALM_FILE, imports / REALM_FILE.name)
        return home

    def _prepare(self) -> list[str]:
        if not self.admin_password:
            raise ServerError("keycloak needs a password for its bootstrap admin")
        realm_env(self.realm_settings)  # fail before starting when a placeholder has no value
        home = self._home()
        state = self._load_state()
        if self.port is None:
            self.port = self._pick_port(state.get("port"))
        if self.management_port is None:
            self.management_port = self._pick_port(state.get("management_port"), exclude=(self.port,))
        self._save_state(port=self.port, management_port=self.management_port)
        return [
            str(home / "bin" / "kc.sh"),
            "start",
            "--optimized",
            "--http-enabled=true",
            "--http-host=127.0.0.1",
            f"--http-port={self.port}",
            f"--http-management-port={self.management_port}",
            f"--hostname={self.url}",  # fixes the issuer, whatever Host a client sends
            "--cache=local",  # no cluster discovery: runs side by side never join each other
            "--import-realm",  # skipped when the realm already exists
        ]

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            **realm_env(self.realm_settings),
            "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": self.admin_password,
            "JAVA_OPTS_KC_HEAP": f"-Xms64m -Xmx{self.heap}",
            # C1-only JIT, as for the test broker: starts ~40% faster and ~50 MB smaller, sign-ins no slower.
            "JAVA_OPTS_APPEND": "-XX:TieredStopAtLevel=1",
        }

    def _probe(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.issuer}/.well-known/openid-configuration", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False
