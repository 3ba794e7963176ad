"""Links keep the one-letter payload keys that links already in people's inboxes carry."""

from listserver.contacts.links import Links
from listserver.models import Contact
from listserver.tokens import Purpose, Signer


def payload(settings, purpose: Purpose, url: str) -> dict:
    return Signer(settings).load(purpose, url.rsplit("/", 1)[1])


def test_each_link_carries_the_letters_it_always_carried(settings):
    contact = Contact(id=7, confirm_version=2, link_version=3)
    links = Links(settings)
    assert payload(settings, Purpose.CONFIRM, links.confirm(contact, 11)) == {"c": 7, "v": 2, "f": 11}
    assert payload(settings, Purpose.PREFERENCES, links.preferences(contact)) == {"c": 7, "v": 3}
    assert payload(settings, Purpose.UNSUBSCRIBE, links.unsubscribe(contact, 5)) == {"c": 7, "v": 3, "l": 5}
    assert payload(settings, Purpose.UNSUBSCRIBE, links.unsubscribe(contact)) == {"c": 7, "v": 3, "l": None}
    assert payload(settings, Purpose.ERASE, links.data_rights(contact, Purpose.ERASE)) == {"c": 7, "v": 3}
    profile = Signer(settings).load(Purpose.PROFILE, links.profile_token(contact, proven=True, asked={"role": 9}))
    assert profile == {"c": 7, "v": 3, "p": True, "w": True, "a": {"role": 9}}
