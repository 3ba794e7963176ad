"""Reports whose fields no database keeps as they are (JSON escapes of lone surrogates, NUL) are read,
kept and never hold up the reports behind them."""

import json

import pytest
import sqlalchemy as sa

from listserver.bounces import intake
from listserver.extensions import db
from listserver.models import Contact, ContactStatus, DeliveryReport, ReportSource
from tests.conftest import SUBSCRIBER, contact_of


@pytest.mark.parametrize("junk", ["\ud800", "\x00"])
def test_an_unstorable_character_in_a_signed_event_does_not_stop_the_reports_behind_it(
        app, subscriber, session, process_reports, junk):
    # json.dumps writes both as ASCII escapes: the raw report is storable, what it says is not.
    events = [{"type": "bounce", "email": f"anna{junk}@example{junk}.com", "status": "5.1.1",
               "reason": f"550 5.1.1 no such user {junk}", "message_id": f"<x{junk}@y>"},
              {"type": "delivery", "email": SUBSCRIBER, "timestamp": "2026-11-30T12:00:00Z"}]
    with app.app_context(), db.session() as s:
        intake.receive(s, [intake.Arrival(ReportSource.WEBHOOK, f"event-{n}", json.dumps(event))
                           for n, event in enumerate(events)])
        s.commit()
    process_reports(app)
    assert session.scalar(sa.select(sa.func.count()).where(DeliveryReport.processed_at.is_(None))) == 0
    assert contact_of(session, SUBSCRIBER).last_delivered_at is not None
    assert session.scalar(sa.select(sa.func.count()).select_from(Contact)) == 1


def test_a_report_dated_in_the_future_does_not_shield_the_address_from_its_bounces(
        app, subscriber, session, process_reports):
    """A sender's clock (or a script's bug) dates a delivery in 2099: it happened when it arrived at the latest,
    so a hard bounce after it still cleans."""
    events = [{"type": "delivery", "email": SUBSCRIBER, "timestamp": "2099-01-01T00:00:00Z"},
              {"type": "bounce", "email": SUBSCRIBER, "status": "5.1.1", "reason": "550 5.1.1 no such user"}]
    for n, event in enumerate(events):
        with app.app_context(), db.session() as s:
            intake.receive(s, [intake.Arrival(ReportSource.WEBHOOK, f"dated-{n}", json.dumps(event))])
            s.commit()
        process_reports(app)
    person = contact_of(session, SUBSCRIBER)
    assert person.last_delivered_at.year < 2099
    assert person.status == ContactStatus.CLEANED
