"""``python -m agentcron.cli``: the same as the ``agentcron`` console script."""

import sys

from agentcron.cli import main

sys.exit(main())
