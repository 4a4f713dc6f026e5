"""The package list: every package of the Lambda layer, plus the CLI, the local stack and the web console from src/.

Everything else is in pyproject.toml; ``package-dir`` there maps ``agentcron.cli``, ``agentcron.local`` and
``agentcron.console`` (whose static files ship as package data).
"""

from setuptools import find_packages, setup

LAYER = find_packages("layers/agentcron", include=["agentcron", "agentcron.*"])
OUTSIDE = [f"agentcron.{name}" for name in ("cli", "local", "console")]
CONSOLE_FILES = ["static/*.html", "static/*.css", "static/*.svg", "static/js/*.js", "static/js/pages/*.js"]

setup(packages=LAYER + OUTSIDE, package_data={"agentcron.console": CONSOLE_FILES})
