"""Each service's image install steps, exercised without Docker: a fresh virtualenv from that
service's requirements alone imports its app and its worker (so a missing pin shows up here)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("listing", "application", "certification", "notification")


@pytest.mark.parametrize("service", SERVICES)
def test_the_dockerfile_installs_the_service_requirements_and_copies_only_what_it_needs(service):
    dockerfile = (ROOT / "services" / service / "Dockerfile").read_text()
    assert re.search(rf"pip install .*-r\s+services/{service}/requirements\.txt", dockerfile), dockerfile
    assert "COPY shared" in dockerfile and f"COPY services/{service}" in dockerfile
    for other in set(SERVICES) - {service}:
        assert f"services/{other}" not in dockerfile, f"{service}'s image must not copy {other}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_fresh_virtualenv_from_the_service_requirements_imports_its_app_and_worker(service, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            f"services/{service}/requirements.txt",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    # Only shared/ and this service, as the image copies them.
    image_root = tmp_path / "app"
    shutil.copytree(ROOT / "shared", image_root / "shared", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "services" / service, image_root / "services" / service, ignore=shutil.ignore_patterns("__pycache__")
    )
    (image_root / "services" / "__init__.py").touch()
    probe = (
        "import sys; sys.path[:0] = ['.']\n"
        f"import services.{service}.worker as worker\n"
        f"from services.{service}.app import create_app\n"
        "assert isinstance(worker.HANDLERS, dict)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [str(python), "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "STINT_AUTH_SECRET": "x" * 40},
    )
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


def test_the_images_use_the_python_the_project_runs_on():
    for service in SERVICES:
        lines = (ROOT / "services" / service / "Dockerfile").read_text().splitlines()
        base = next(line for line in lines if line.startswith("FROM "))
        assert base.startswith(f"FROM python:{sys.version_info.major}.{sys.version_info.minor}"), base


def test_the_web_image_installs_its_requirements_and_serves_a_page(tmp_path):
    dockerfile = (ROOT / "services" / "web" / "Dockerfile").read_text()
    assert re.search(r"pip install .*-r\s+services/web/requirements\.txt", dockerfile), dockerfile
    assert all(f"services/{other}" not in dockerfile for other in SERVICES)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            "services/web/requirements.txt",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    image_root = tmp_path / "app"  # only shared/ and the web, as the image copies them
    shutil.copytree(ROOT / "shared", image_root / "shared", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "services" / "web", image_root / "services" / "web", ignore=shutil.ignore_patterns("__pycache__")
    )
    probe = (
        "import sys; sys.path[:0] = ['.']\n"
        "from services.web.wsgi import app\n"
        "page = app.test_client().get('/verify')\n"
        "assert page.status_code == 200 and b'Verify a Stint credential' in page.data, page.status_code\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [str(python), "-c", probe],
        cwd=image_root,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "STINT_WEB_CLIENT_SECRET": "x" * 40, "STINT_WEB_SESSION_SECRET": "y" * 40},
    )
    assert result.stdout.strip().splitlines()[-1:] == ["ok"], result.stderr[-2000:]  # logs (no database) come first
