"""Never-confirmed sign-ups older than 30 days are purged: their personal data goes, the consent proof
stays without it, and one event says so."""

import sqlalchemy as sa

from listserver.db import Base
from listserver.models import ConsentRecord, Contact, ContactStatus, Event, EventKind, ReportKind
from tests.conftest import contact_of
from tests.hygiene.people import add_people, add_reports, ago, changed, run_hygiene, set_columns, statuses

STALE = "stale-signup@example-shop.net"


def rows_mentioning(session, text: str) -> list[str]:
    """Every table row that holds `text` anywhere, as `table: row`."""
    found = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(sa.select(table)).all():
            if text.lower() in str(tuple(row)).lower():
                found.append(f"{table.name}: {row}")
    return found


def test_a_stale_sign_up_is_purged_keeping_consent_proof_without_personal_data(app, make_app, submit, deliver,
                                                                               session):
    assert submit(STALE, first_name="Zoë").status_code == 200
    mailbox = make_app(smtp_host="")  # the embedded mailbox keeps a copy of each email on disk
    deliver(mailbox)
    copies = list(mailbox.config["SETTINGS"].mail_dir.glob("*.eml"))
    assert len(copies) == 1 and STALE in copies[0].read_text()
    person = contact_of(session, STALE)
    person_id = person.id
    add_reports(app, person_id, ReportKind.SOFT, [35])
    set_columns(app, [person_id], created_at=ago(40), updated_at=ago(40))
    consent_before = [(r.id, r.action, r.method, r.form_version_id, r.consent_text_hash, r.ip, r.user_agent)
                      for r in session.scalars(sa.select(ConsentRecord).where(ConsentRecord.contact_id == person_id))]
    assert consent_before and all(ip and agent and text_hash for *_, text_hash, ip, agent in consent_before)

    young = add_people(app, 1, status=ContactStatus.PENDING, engaged_days_ago=None)[0]
    set_columns(app, [young], created_at=ago(10), updated_at=ago(10))
    signed_up_again = add_people(app, 1, status=ContactStatus.PENDING, engaged_days_ago=None)[0]
    set_columns(app, [signed_up_again], created_at=ago(60), updated_at=ago(2))
    left_after_confirming = add_people(app, 1, status=ContactStatus.UNSUBSCRIBED, engaged_days_ago=300)[0]

    run = run_hygiene(mailbox)  # its settings name the mailbox's folder
    assert changed(run)["purge"] == 1
    assert contact_of(session, STALE) is None
    assert statuses(session, [young, signed_up_again, left_after_confirming]) == ["pending", "pending", "unsubscribed"]

    session.expire_all()
    consent_after = [(r.id, r.action, r.method, r.form_version_id, r.consent_text_hash, r.ip, r.user_agent,
                      r.contact_id) for r in session.scalars(sa.select(ConsentRecord).order_by(ConsentRecord.id))]
    # The proof of what was shown and agreed to, and when; nothing that says who.
    assert consent_after == [(*kept, None, None, None) for *kept, _ip, _agent in consent_before]
    [purged] = session.scalars(sa.select(Event).where(Event.kind == EventKind.PURGED))
    assert purged.contact_id is None and purged.data == {"reason": "never confirmed"}
    assert rows_mentioning(session, STALE) == [] and rows_mentioning(session, "Zoë") == []
    assert list(mailbox.config["SETTINGS"].mail_dir.glob("*.eml")) == []

    assert changed(run_hygiene(app))["purge"] == 0
    assert session.scalar(sa.select(sa.func.count()).where(Event.kind == EventKind.PURGED)) == 1


def test_someone_who_confirms_is_never_purged_however_old(app, session):
    old = add_people(app, 1, engaged_days_ago=None, created_at=ago(900), updated_at=ago(900))[0]
    cleaned = add_people(app, 1, status=ContactStatus.CLEANED, engaged_days_ago=None)[0]
    set_columns(app, [cleaned], confirmed_at=None, updated_at=ago(45))  # a dead domain at sign-up
    run = run_hygiene(app)
    assert changed(run)["purge"] == 1
    assert statuses(session, [old, cleaned]) == ["subscribed", "gone"]
    assert session.get(Contact, old).confirmed_at is not None
