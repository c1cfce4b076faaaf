"""A real Chromium, driven by Selenium through Debian's chromium-driver, used the way a person uses a browser.

`Browser` reads what a page says (its visible text), finds fields by their labels and buttons by their words,
keeps one cookie jar per person (so one browser serves a student, an employer and an admin in turn, each with a
fresh profile of cookies), runs axe-core on a page and takes screenshots at phone and desktop width.
"""

from __future__ import annotations

import contextlib
import io
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

AXE_DIR = Path(__file__).resolve().parents[1] / "e2e" / "browser"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
NPM_SECONDS = 300
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=en-US",  # date fields then take mm/dd/yyyy, as typed below
)
SIZES = {"phone": (390, 844, True), "desktop": (1280, 900, False)}
WAIT_SECONDS = 15
COOKIE_FIELDS = (
    "name",
    "value",
    "domain",
    "path",
    "secure",
    "httpOnly",
    "sameSite",
    "expires",
    "priority",
    "sourceScheme",
    "sourcePort",
)

# Read the page as a person does: the element a label names, the button or link with these words.
_FIND_FIELD = """
const norm = s => (s || '').replace(/\\s+/g, ' ').trim();
const wanted = norm(arguments[0]);
const labels = [...document.querySelectorAll('label, legend')];
const exact = labels.find(l => norm(l.innerText) === wanted) || labels.find(l => norm(l.innerText).startsWith(wanted));
if (!exact) return null;
return exact.control || document.getElementById(exact.htmlFor) || exact.querySelector('input, textarea, select');
"""
_FIND_ACTION = """
const norm = s => (s || '').replace(/\\s+/g, ' ').trim();
const wanted = norm(arguments[0]);
const shown = el => el.getClientRects().length > 0;
const all = [...document.querySelectorAll('a, button, input[type=submit], summary')].filter(shown);
const words = el => norm(el.tagName === 'INPUT' ? el.value : el.innerText);
return all.find(el => words(el) === wanted) || all.find(el => words(el).startsWith(wanted)) || null;
"""
_FOCUS_VISIBLE = """
const el = document.activeElement;
if (!el || el === document.body) return null;
const style = getComputedStyle(el);
const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
return {
  text: (el.innerText || el.value || el.getAttribute('aria-label') || el.id || el.tagName).replace(/\\s+/g, ' ').trim(),
  tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name') || '',
  visible: outline || style.boxShadow !== 'none' || style.backgroundColor === 'rgb(255, 221, 0)',
  on_screen: (r => r.width > 0 && r.right > 0 && r.bottom > 0 && r.left < innerWidth)(el.getBoundingClientRect()),
};
"""
_AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(
  r => done({passed: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\\s+/g, ' '))}))}),
  e => done({error: String(e)}));
"""


def missing_tools() -> str | None:
    """Why the browser tests cannot run here (None when chromium, chromedriver and Selenium are all there)."""
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "chromium is not installed (Debian: apt-get install -y chromium chromium-driver; or make tools)"
    if not shutil.which("chromedriver"):
        return "chromedriver is not installed (Debian: apt-get install -y chromium-driver; or make tools)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements-dev.txt)"
    return None


def start_chromium(profile_dir: Path):
    """One headless Chromium with a fresh profile, driven through chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


def axe_source() -> tuple[str | None, str]:
    """axe-core's script (after `npm ci` in tests/e2e/browser when it is missing), or None and why not."""
    locked, installed = AXE_DIR / "package-lock.json", AXE_DIR / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < locked.stat().st_mtime:
        npm = shutil.which("npm")
        if npm is None:
            return None, "npm is not installed: it installs axe-core (npm ci in tests/e2e/browser)"
        try:
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=AXE_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_SECONDS,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return None, f"npm ci in {AXE_DIR} took longer than {NPM_SECONDS} s"
        if done.returncode != 0:
            return None, f"npm ci in {AXE_DIR} failed: {done.stderr.strip()[-500:]}"
    return AXE_SCRIPT.read_text(encoding="utf-8"), ""


@dataclass
class AxeReport:
    """What axe-core found on one page."""

    page: str
    url: str
    violations: list[dict]
    passed: int  # how many of axe-core's rules found nothing wrong
    ours: bool = True  # False for pages Stint does not render (Keycloak's): reported, never failed

    @property
    def blocking(self) -> list[dict]:
        """The serious and critical violations."""
        return [v for v in self.violations if v["impact"] in ("serious", "critical")]

    def describe(self, only_blocking: bool = False) -> str:
        """One line per violation, with the elements it concerns."""
        found = self.blocking if only_blocking else self.violations
        lines = [f"{self.page} ({self.url}):"]
        for v in found:
            lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
            lines.extend(f"      {node[:300]}" for node in v["nodes"][:5])
        return "\n".join(lines)


@dataclass
class Browser:
    """The session's one Chromium, handed from person to person; each person keeps their own cookies."""

    driver: object
    web_url: str
    screenshots: Path
    axe: str | None
    axe_missing: str = ""
    reports: list[AxeReport] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)
    person: str | None = None
    _jars: dict = field(default_factory=dict)

    # ---- who is at the keyboard ------------------------------------------------------------------

    def become(self, who: str) -> None:
        """Hand the browser to `who`: their own cookies (none the first time), nobody else's."""
        if who == self.person:
            return
        if self.person is not None:
            self._jars[self.person] = self.driver.execute_cdp_cmd("Storage.getCookies", {})["cookies"]
        self.driver.execute_cdp_cmd("Storage.clearCookies", {})
        jar = [{k: c[k] for k in COOKIE_FIELDS if k in c} for c in self._jars.get(who, [])]
        for cookie in jar:
            if cookie.get("expires", -1) <= 0:
                cookie.pop("expires", None)  # a session cookie stays one
        if jar:
            self.driver.execute_cdp_cmd("Storage.setCookies", {"cookies": jar})
        self.person = who
        self.driver.get("about:blank")

    # ---- reading -----------------------------------------------------------------------------------

    def open(self, path_or_url: str) -> None:
        """Go to a page of the web (a path) or anywhere (a full URL)."""
        self.driver.get(path_or_url if "://" in path_or_url else self.web_url + path_or_url)

    @property
    def url(self) -> str:
        """Where the browser is."""
        return self.driver.current_url

    def text(self) -> str:
        """What the page says: its visible text, whitespace collapsed."""
        return " ".join((self.driver.execute_script("return document.body ? document.body.innerText : ''")).split())

    def see(self, *texts: str, timeout: float = WAIT_SECONDS) -> str:
        """Wait until the page shows every one of `texts`; return the page's text."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.text()
            if all(text in shown for text in texts):
                return shown
            if time.monotonic() > deadline:
                missing = [text for text in texts if text not in shown]
                raise AssertionError(f"the page ({self.url}) does not show {missing}; it says: {shown[:1500]}")
            time.sleep(0.2)

    def see_after_reloading(self, path: str, *texts: str, timeout: float = 45) -> str:
        """Open `path` again and again until it shows `texts` (what arrives through the services' events)."""
        deadline = time.monotonic() + timeout
        while True:
            self.open(path)
            shown = self.text()
            if all(text in shown for text in texts) or time.monotonic() > deadline:
                return self.see(*texts, timeout=0)
            time.sleep(0.5)

    # ---- doing -------------------------------------------------------------------------------------

    def field(self, label: str):
        """The input, textarea or select a label (or legend) names."""
        element = self.driver.execute_script(_FIND_FIELD, label)
        if element is None:
            raise AssertionError(f"no field labelled {label!r} on {self.url}; the page says: {self.text()[:800]}")
        return element

    def fill(self, label: str, value: str) -> None:
        """Type into the field a label names (what was there is cleared first)."""
        element = self.field(label)
        element.clear()
        element.send_keys(value)

    def choose(self, label: str) -> None:
        """Tick the radio button or checkbox with this label."""
        element = self.field(label)
        if not element.is_selected():
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
            element.click()

    def pick(self, label: str, option: str) -> None:
        """Choose an option (by its words) in the drop-down a label names."""
        from selenium.webdriver.support.ui import Select

        Select(self.field(label)).select_by_visible_text(option)

    def click(self, words: str, navigates: bool = True) -> None:
        """Press the button or follow the link with these words; wait for the next page when it leads to one."""
        element = self.driver.execute_script(_FIND_ACTION, words)
        if element is None:
            raise AssertionError(f"nothing to click saying {words!r} on {self.url}; the page says: {self.text()[:800]}")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        if not navigates:
            element.click()
            return
        with self.next_page():
            element.click()

    @contextlib.contextmanager
    def next_page(self):
        """Around an action that leads to another page: wait until that page has replaced this one and loaded."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        mark = secrets.token_hex(8)  # lives in this page's window only: the next page's window lacks it
        self.driver.execute_script("window.stintPage = arguments[0]", mark)
        yield
        WebDriverWait(self.driver, 60, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script(
                "return window.stintPage !== arguments[0] && document.readyState == 'complete'", mark
            )
        )

    def has_link(self, pattern: str) -> bool:
        """Whether a visible link's words match the regular expression `pattern`."""
        return self.link_matching(pattern) is not None

    def link_matching(self, pattern: str) -> str | None:
        """Where the first visible link whose words match the regular expression `pattern` goes (None: no such)."""
        script = "return [...document.links].filter(a => a.getClientRects().length).map(a => [a.innerText, a.href])"
        return next((href for words, href in self.driver.execute_script(script) if re.search(pattern, words)), None)

    # ---- the keyboard ------------------------------------------------------------------------------

    def focused(self) -> dict | None:
        """The element that has the keyboard focus: its words, and whether the focus can be seen on it."""
        return self.driver.execute_script(_FOCUS_VISIBLE)

    def press(self, *keys: str) -> None:
        """Press keys (or type text) into whatever has the focus, as a keyboard does."""
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver).send_keys(*keys).perform()

    def tab_to(self, words: str, most: int = 40, visible_focus: bool = True) -> dict:
        """Press Tab until the focus is on the element with these words (or a field with this id or name);
        with `visible_focus`, every element passed on the way must show that it has the focus."""
        from selenium.webdriver.common.keys import Keys

        passed = []
        for _ in range(most):
            self.press(Keys.TAB)
            now = self.focused()
            if now is None:
                continue
            passed.append(now["text"][:40])
            if visible_focus:
                assert now["visible"], f"the focus on {now['text']!r} ({self.url}) cannot be seen"
            if now["text"] == words or now["text"].startswith(words) or words in (now["id"], now["name"]):
                return now
        raise AssertionError(f"{most} presses of Tab never reached {words!r}; the focus went through {passed}")

    # ---- accessibility and screenshots ------------------------------------------------------------------

    def check_accessibility(self, page: str, ours: bool = True) -> AxeReport | None:
        """Run axe-core on the page as it stands; keep and return its report (None when axe-core is missing).
        `ours=False` marks a page another product renders (Keycloak's): its findings are reported only."""
        if self.axe is None:
            return None
        self.driver.execute_script(self.axe)
        found = self.driver.execute_async_script(_AXE_RUN)
        assert "error" not in found, f"axe-core failed on {self.url}: {found['error']}"
        report = AxeReport(page, self.url, found["violations"], found["passed"], ours)
        self.reports.append(report)
        return report

    def screenshot(self, name: str) -> None:
        """Save the page at phone and desktop width (name-phone.png, name-desktop.png), as small PNGs."""
        from PIL import Image

        for size, (width, height, mobile) in SIZES.items():
            metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            try:
                self.driver.execute_script("window.scrollTo(0, 0)")
                time.sleep(0.3)  # layout settles at the new width
                png = self.driver.get_screenshot_as_png()
            finally:
                self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            path = self.screenshots / f"{name}-{size}.png"
            image = Image.open(io.BytesIO(png)).convert("RGB")
            # 256 colours by median cut, not dithered: large areas (white, the pale grey of a button) keep their own
            # colour, and the file is a third of the size.
            image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
            image.save(path, optimize=True)
            self.shots.append(path)
