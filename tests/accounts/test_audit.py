"""The audit trail names who acted as it always has."""

from listserver.accounts import audit
from listserver.models import ApiToken, User


def test_actor_names_are_the_stored_text_of_before():
    assert audit.actor(audit.Actor.CLI) == "cli"
    assert audit.actor(audit.Actor.SUBSCRIBER) == "subscriber"
    assert audit.actor(audit.Actor.API, ApiToken(prefix="ls_abc1234")) == "api:ls_abc1234"
    assert audit.actor(audit.Actor.USER, User(id=3)) == "user:3"
    assert audit.actor(audit.Actor.SYSTEM) == "system"
