"""Helpers several test folders share (kept out of test modules so any folder can import them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Now, as the sign-in throttle sees it: moved on by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
