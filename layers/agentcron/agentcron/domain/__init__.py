"""The domain: pure rules of schedules, timing, claims and runs (no I/O, no clock reads)."""
