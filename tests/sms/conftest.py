"""The `fake_twilio` fixture: a real local Twilio-shaped server on an ephemeral port.

The server itself is `deadline_watch.fakes.twilio.FakeTwilio`, importable from any
test or benchmark; this fixture only starts and stops one per test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deadline_watch.fakes.twilio import FakeTwilio


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """A running fake: `.base_url`, `.messages`, `.script(...)`, `.settings(base)`, `.post_status(...)`."""
    with FakeTwilio(seed=1) as fake:
        yield fake
