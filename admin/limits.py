"""The sign-in limit: failed and pending attempts per user name and per address, counted in
fixed windows in the database (storage/sign_in_attempts.py), so every process sees them.

An attempt is counted before the password is checked (one atomic upsert), so concurrent
guesses cannot slip past the limit; a successful sign-in clears its user's count and takes
its attempt back from the address. The limit compares the count of the current and the
previous window with the maximum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SignInLimit:
    """How many attempts a user name and an address get per two windows."""

    window: timedelta = timedelta(minutes=5)
    per_user: int = 5
    """Attempts for one user name (any address)."""
    per_address: int = 30
    """Attempts from one address (any names): slows down guessing across many names."""

    def window_start(self, now: datetime) -> datetime:
        """The start of the fixed window `now` falls in."""
        windows = (now - EPOCH) // self.window
        return EPOCH + windows * self.window

    def counted_since(self, now: datetime) -> datetime:
        """Attempts in windows starting at or after this count (this one and the last)."""
        return self.window_start(now) - self.window

    def retry_minutes(self, now: datetime) -> int:
        """Whole minutes until the attempts counted now no longer count."""
        free_at = self.window_start(now) + 2 * self.window
        return max(1, math.ceil((free_at - now).total_seconds() / 60))
