"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright, and the folder
the tests keep their screenshots in.

Needs ``apt-get install -y chromium`` and the ``playwright`` test extra; never ``playwright install``, which
downloads a browser build of its own and cannot work offline.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Chromium reaches for Google's services unless told not to; the machines running this are offline, so every
# such attempt only costs time. Playwright adds --headless (headless=True) and a fresh --user-data-dir
# (launch_persistent_context on a new tmp folder).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


def artifacts_folder() -> Path:
    """Where tests keep screenshots for a person to look at: $SPARKTAG_TEST_ARTIFACTS, else test-artifacts/ at
    the repository root (created)."""
    folder = Path(
        os.environ.get("SPARKTAG_TEST_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder
