"""Hypothesis in CI: the same examples on every run.

Locally hypothesis draws new examples each run and keeps failures in
``.hypothesis/`` (that is how it finds bugs).  In CI (``CI`` set) a red build
must be reproducible from its commit, so the examples derive from the test's
name instead of a random seed.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
