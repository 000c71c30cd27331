"""Shared fixtures. Real data lives in ../shared/data beside the repo (absent in a user's clone)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _need(path: Path) -> Path:
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must run with ../shared beside the repo")
        pytest.skip(f"shared data not found at {path} (only present beside the dev repo)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; skips with a reason where it is absent (never in CI)."""
    return _need(SHARED_DATA)


@pytest.fixture(scope="session")
def hdri_dir(shared_data) -> Path:
    return _need(shared_data / "hdri")


@pytest.fixture(scope="session")
def gt_dir(shared_data) -> Path:
    return _need(shared_data / "gt")


@pytest.fixture(scope="session")
def label_studio_dir(shared_data) -> Path:
    return _need(shared_data / "label-studio")
