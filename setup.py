"""The package list: every package of the Lambda layer, plus the CLI and the local stack from src/.

Everything else is in pyproject.toml; ``package-dir`` there maps ``agentcron.cli`` and ``agentcron.local``.
"""

from setuptools import find_packages, setup

LAYER = find_packages("layers/agentcron", include=["agentcron", "agentcron.*"])
OUTSIDE = [f"agentcron.{name}" for name in ("cli", "local")]

setup(packages=LAYER + OUTSIDE)
