"""The test suite's environment, set before the test settings read it (settings.test).

The suite's results depend on the tests alone: no .env file, and the settings named
here never from a developer's shell: their defaults, or what a test passes its own
worker process (tests/integration/conftest.py marks those SUMMARIZER_TEST_CHILD).
"""

import os

PINNED_FROM_TESTS = (
    "BERTSUMEXT_CHECKPOINT",
    "TRAINING_DEFAULTS",
    "SCHEDULED_TRAINING_PARAMS",
    "PROMOTION_MIN_DOCUMENTS",
)

os.environ["SUMMARIZER_DOTENV"] = ""
if not os.environ.get("SUMMARIZER_TEST_CHILD"):
    for name in PINNED_FROM_TESTS:
        os.environ.pop(name, None)
