"""Fetch and build the server artefacts (Kafka jars, FerretDB binary, Keycloak) into a shared cache.

Artefacts live in ``${STINT_CACHE_DIR:-~/.cache/stint}/<name>-<version>-<hash>/``, where the hash
covers the build inputs (pom.xml, the Go sources, Keycloak's build options), so edits rebuild and
reruns are instant.
A build runs in a temp dir and is renamed into place under an fcntl lock, so concurrent
processes never see or create a half-built artefact.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

KAFKA_VERSION = "4.1.2"
FERRETDB_VERSION = "1.24.2"
KEYCLOAK_VERSION = "26.4.7"
# Keycloak's build-time options, fixed into the cached install by `kc.sh build` so that every run
# can `start --optimized` (no re-augmentation, which would also write into the shared cache).
KEYCLOAK_BUILD_OPTIONS = ("--db=dev-file", "--health-enabled=true")

PKG_DIR = Path(__file__).resolve().parent
KAFKA_SRC = PKG_DIR / "kafka"
FERRETDB_SRC = PKG_DIR / "ferretdb"
KAFKA_LOG4J2 = KAFKA_SRC / "log4j2.properties"

_DONE = ".complete"


class BuildError(RuntimeError):
    """A fetch/build step failed; the message carries the tool's output."""


def cache_dir() -> Path:
    """Return the artefact cache root (STINT_CACHE_DIR or ~/.cache/stint)."""
    root = os.environ.get("STINT_CACHE_DIR") or os.path.join(Path.home(), ".cache", "stint")
    path = Path(root).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _hash_files(*files: Path) -> str:
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@contextlib.contextmanager
def _lock(name: str) -> Iterator[None]:
    lock_dir = cache_dir() / "locks"
    lock_dir.mkdir(exist_ok=True)
    with open(lock_dir / f"{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise BuildError(f"'{tool}' not found on PATH; devservers needs java, mvn and go to build")
    return path


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()[-4000:]
        raise BuildError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{out}")


def _ensure(name: str, build) -> Path:
    """Return the finished artefact dir ``name``, running ``build(tmp_dir)`` once if absent."""
    final = cache_dir() / name
    if (final / _DONE).exists():
        return final
    with _lock(name):
        if (final / _DONE).exists():  # another process built it while we waited
            return final
        if final.exists():  # leftover of an interrupted build without the marker
            shutil.rmtree(final)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=cache_dir()))
        os.chmod(tmp, 0o755)
        try:
            started = time.monotonic()
            build(tmp)
            (tmp / _DONE).write_text(f"built in {time.monotonic() - started:.1f}s\n")
            os.rename(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return final


def java_bin() -> str:
    """Return the java executable ($JAVA_HOME/bin/java if set, else java on PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    return _require("java")


def kafka_libs() -> Path:
    """Return the dir holding the Kafka jars, fetching them with Maven on first use."""
    pom = KAFKA_SRC / "pom.xml"
    name = f"kafka-{KAFKA_VERSION}-{_hash_files(pom)}"

    def build(tmp: Path) -> None:
        mvn = _require("mvn")
        java_bin()
        shutil.copy(pom, tmp / "pom.xml")  # run outside the source tree: no target/ litter
        _run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(tmp / "pom.xml"),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={tmp / 'libs'}",
            ],
            cwd=tmp,
        )
        (tmp / "pom.xml").unlink()
        jars = list((tmp / "libs").glob("kafka_2.13-*.jar"))
        if not jars:
            raise BuildError(f"maven ran but no kafka_2.13 jar landed in {tmp / 'libs'}")

    return _ensure(name, build) / "libs"


# The dev FerretDB is built from a copy of the module with a few lines changed (a `replace` in a go.mod of the
# build's own, the source tree untouched); each patch is (file, the text it replaces, once, and its replacement).
FERRETDB_PATCHES = (
    # FerretDB 1.24's SQLite backend finds a document by `_id` with `WHERE _ferretdb_sjson->'$._id' = ?` but builds
    # the collection's `_id_` index on `_ferretdb_sjson->"_id"`; SQLite uses an expression index only for the very
    # expression a query names, so every read, update and delete by `_id` walked the whole table
    # (docs/benchmarks.md). The `_id` index is put on the queries' own expression: same values, same uniqueness,
    # now used. Only collections created by the patched binary have it.
    (
        "internal/backends/sqlite/metadata/registry.go",
        '\t\t\tcolumns[i] = fmt.Sprintf("%s->%s", DefaultColumn, strings.Join(fields, "->"))\n',
        '\t\t\tcolumns[i] = fmt.Sprintf("%s->%s", DefaultColumn, strings.Join(fields, "->"))\n'
        '\t\t\tif key.Field == "_id" { // stint: index the expression the _id queries use (IDColumn)\n'
        "\t\t\t\tcolumns[i] = IDColumn\n"
        "\t\t\t}\n",
    ),
    # FerretDB tracks every iterator, cursor and connection it makes in a pprof profile with a finalizer, to report
    # one never closed: each command captured several stacks (runtime.Callers), 8-9 % of its CPU under the approvals
    # bench. A leak detector for FerretDB's own development; ours only runs it. Track and Untrack do nothing.
    (
        "internal/util/resource/resource.go",
        "func Track(obj any, token *Token) {\n\tcheckArgs(obj, token)\n",
        "func Track(obj any, token *Token) {\n\tcheckArgs(obj, token)\n\treturn // stint: no leak tracking\n",
    ),
    (
        "internal/util/resource/resource.go",
        "func Untrack(obj any, token *Token) {\n\tcheckArgs(obj, token)\n",
        "func Untrack(obj any, token *Token) {\n\tcheckArgs(obj, token)\n\treturn // stint: no leak tracking\n",
    ),
)


def _patched_ferretdb_modfile(go: str, tmp: Path, env: dict[str, str]) -> Path:
    """Copy the FerretDB module into ``tmp``, apply FERRETDB_PATCHES, return a go.mod that builds against the copy."""
    _run([go, "mod", "download", "github.com/FerretDB/FerretDB"], cwd=FERRETDB_SRC, env=env)
    proc = subprocess.run(
        [go, "list", "-m", "-f", "{{.Dir}}", "github.com/FerretDB/FerretDB"],
        cwd=FERRETDB_SRC,
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise BuildError(f"cannot locate the FerretDB module: {(proc.stdout + proc.stderr).strip()[-2000:]}")
    module = tmp / "src" / "ferretdb-module"
    shutil.copytree(proc.stdout.strip(), module)
    for path in [module, *module.rglob("*")]:  # the module cache is read-only, and so is the copy
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    for relative, old, new in FERRETDB_PATCHES:
        target = module / relative
        text = target.read_text()
        if text.count(old) != 1:
            raise BuildError(f"{relative} no longer has the text a patch replaces; review FERRETDB_PATCHES")
        target.write_text(text.replace(old, new))
    modfile = tmp / "src" / "go.mod"
    modfile.write_text((FERRETDB_SRC / "go.mod").read_text() + f"\nreplace github.com/FerretDB/FerretDB => {module}\n")
    shutil.copy(FERRETDB_SRC / "go.sum", tmp / "src" / "go.sum")
    return modfile


def ferretdb_binary() -> Path:
    """Return the path of the FerretDB binary, building it with Go on first use."""
    srcs = [FERRETDB_SRC / f for f in ("go.mod", "go.sum", "main.go")]
    patch = hashlib.sha256("\0".join(part for patch in FERRETDB_PATCHES for part in patch).encode()).hexdigest()[:8]
    name = f"ferretdb-{FERRETDB_VERSION}-{_hash_files(*srcs)}-{patch}"

    def build(tmp: Path) -> None:
        go = _require("go")
        env = dict(os.environ, CGO_ENABLED="0")  # modernc SQLite is pure Go
        env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -mod=mod").strip()
        modfile = _patched_ferretdb_modfile(go, tmp, env)
        cmd = [go, "build", "-trimpath", f"-modfile={modfile}", "-o", str(tmp / "ferretdb"), "."]
        _run(cmd, cwd=FERRETDB_SRC, env=env)
        shutil.rmtree(modfile.parent)

    return _ensure(name, build) / "ferretdb"


def keycloak_home() -> Path:
    """Return the Keycloak install dir (unzipped from Maven Central, `kc.sh build` run), building it on first use."""
    options = "\0".join(KEYCLOAK_BUILD_OPTIONS)
    name = f"keycloak-{KEYCLOAK_VERSION}-{hashlib.sha256(options.encode()).hexdigest()[:12]}"

    def build(tmp: Path) -> None:
        mvn = _require("mvn")
        java_bin()
        _run(
            [
                mvn,
                "-q",
                "-B",
                "dependency:copy",
                f"-Dartifact=org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:zip",
                f"-DoutputDirectory={tmp}",
            ],
            cwd=tmp,
        )
        archive = tmp / f"keycloak-quarkus-dist-{KEYCLOAK_VERSION}.zip"
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        archive.unlink()
        home = tmp / "home"
        (tmp / f"keycloak-{KEYCLOAK_VERSION}").rename(home)
        for script in (home / "bin").glob("*.sh"):
            script.chmod(0o755)  # zipfile drops the mode bits
        _run([str(home / "bin" / "kc.sh"), "build", *KEYCLOAK_BUILD_OPTIONS], cwd=tmp)

    return _ensure(name, build) / "home"


def build_all() -> tuple[Path, Path, Path]:
    """Fetch/build every artefact; return (kafka libs dir, ferretdb binary, keycloak home)."""
    return kafka_libs(), ferretdb_binary(), keycloak_home()
