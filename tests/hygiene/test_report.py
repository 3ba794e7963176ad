"""List health: bounce, block and complaint rates of the last 30 days against the providers' limits,
and blocks per receiving domain."""

import json


from listserver.models import ReportKind
from tests.hygiene.people import add_email, add_people, add_reports, cli


def test_the_report_gives_rates_against_the_limits_and_blocks_per_domain(app, runner):
    [person] = add_people(app, 1)
    ours = add_email(app, person)
    add_reports(app, person, ReportKind.DELIVERY, [1], outbox_message_id=ours)  # the same email: counted once
    add_reports(app, None, ReportKind.DELIVERY, [2] * 989, domain="gmail.com")  # a campaign sent through a provider
    add_reports(app, None, ReportKind.HARD, [3, 4, 5, 6], domain="gmail.com", status="5.1.1")
    add_reports(app, None, ReportKind.SOFT, [3, 4], domain="gmail.com", status="4.2.2")
    add_reports(app, None, ReportKind.OTHER, [1, 2], domain="outlook.com", status="5.7.1")
    add_reports(app, None, ReportKind.OTHER, [3], domain="outlook.com", status="5.7.606")
    add_reports(app, None, ReportKind.OTHER, [4], domain="yahoo.com", status="4.7.0")
    add_reports(app, None, ReportKind.COMPLAINT, [1, 2, 3, 4], domain="yahoo.com")
    add_reports(app, None, ReportKind.HARD, [40] * 50, domain="gmail.com")  # before the 30 days: not counted
    add_reports(app, None, ReportKind.IGNORED, [1] * 7)  # vacation notices are not emails sent

    health = json.loads(cli(app, runner, "report", "--json").output)
    assert health["sent"] == 1000 and health["days"] == 30
    assert health["counts"] == {"hard": 4, "soft": 2, "blocked": 4, "complaints": 4}
    assert health["percent"] == {"hard": 0.4, "soft": 0.2, "blocked": 0.4, "complaints": 0.4}
    assert health["limits_percent"] == {"hard": 2.0, "complaints": 0.3}
    assert health["over_limit"] == ["complaints"] and health["ok"] is False
    assert health["blocks_by_domain"] == [
        {"domain": "outlook.com", "blocks": 3, "statuses": {"5.7.1": 2, "5.7.606": 1}},
        {"domain": "yahoo.com", "blocks": 1, "statuses": {"4.7.0": 1}},
    ]

    text = cli(app, runner, "report")
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert lines[0].endswith("UTC: 1000 emails sent")
    assert lines[1].split() == ["hard", "bounces", "4", "0.40", "%", "limit", "2", "%", "ok"]
    assert lines[3].split() == ["blocked", "4", "0.40", "%"]
    assert lines[4].split() == ["complaints", "4", "0.40", "%", "limit", "0.3", "%", "OVER"]
    assert lines[6].split() == ["outlook.com", "3", "5.7.1", "x2,", "5.7.606", "x1"]


def test_the_limits_are_settings_and_a_quiet_list_is_not_over_them(make_app, app, runner):
    strict = make_app(health_max_complaint_percent=0.1, health_days=7)
    add_reports(strict, None, ReportKind.DELIVERY, [1] * 999)
    add_reports(strict, None, ReportKind.COMPLAINT, [1, 10])
    health = json.loads(cli(strict, runner, "report", "--json").output)
    assert health["days"] == 7 and health["counts"]["complaints"] == 1
    assert health["limits_percent"]["complaints"] == 0.1 and health["over_limit"] == ["complaints"]

    empty = json.loads(cli(make_app(health_days=0), runner, "report", "--json").output)
    assert empty["sent"] == 0 and empty["percent"]["hard"] is None and empty["ok"] is True
    assert "no emails sent" in cli(make_app(health_days=0), runner, "report").output
