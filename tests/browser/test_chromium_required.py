"""Without Chromium the browser tests fail and say how to install it; they never skip."""

from pathlib import Path

import pytest

from .conftest import require_chromium


def test_missing_chromium_fails_with_the_install_command(tmp_path):
    with pytest.raises(pytest.fail.Exception) as failed:
        require_chromium(tmp_path / "no-chromium-here")
    assert "apt-get install -y --no-install-recommends chromium" in str(failed.value)


def test_present_chromium_is_used(tmp_path):
    binary = Path(tmp_path / "chromium")
    binary.write_text("#!/bin/sh\n")
    assert require_chromium(binary) == binary
