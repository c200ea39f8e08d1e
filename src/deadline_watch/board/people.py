"""How the board names the people in its histories: an account's display name (else the
name of the person it is linked to, else the account name) and its role."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.domain.models import Person, User


def display_names(session: Session, actors: Iterable[str]) -> dict[str, tuple[str, str]]:
    """username -> (display name, role) for the `user:<name>` actors among `actors`."""
    usernames = {actor.partition(":")[2] for actor in actors if actor and actor.startswith("user:")}
    if not usernames:
        return {}
    rows = session.execute(
        sa.select(User.username, User.display_name, Person.name, User.role)
        .outerjoin(Person, Person.id == User.person_id)
        .where(User.username.in_(sorted(usernames)))
    )
    return {username: (display or person or username, role) for username, display, person, role in rows}
