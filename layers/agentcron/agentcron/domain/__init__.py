"""The domain: pure rules of schedules, timing, claims and runs (no I/O, no clock reads, no random ids).

The modules that define pydantic models (and ``api/schemas.py``) do not use ``from __future__ import
annotations``: pydantic would compile each annotation string back into a type, hundreds of them in every cold
start (about 1% of a handler's; README, Performance). An annotation naming its own class is quoted instead.
"""
