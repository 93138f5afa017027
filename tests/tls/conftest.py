"""The TLS tests' certificates: made once per session by scripts/make-test-certs into a
temporary folder (keys are never committed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tls_helpers import Certs

MAKE_TEST_CERTS = Path(__file__).parents[2] / "scripts" / "make-test-certs"


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    folder = tmp_path_factory.mktemp("certs")
    subprocess.run([str(MAKE_TEST_CERTS), str(folder)], check=True, timeout=120)
    return Certs(folder)
