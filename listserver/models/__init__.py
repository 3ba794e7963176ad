"""SQLAlchemy models, one module per domain."""

from listserver.models.bounces import BOUNCES, DeliveryReport, HygieneRun, ReportKind, ReportSource, RunOutcome
from listserver.models.contacts import (
    AuditAction,
    AuditEntry,
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
    Contact,
    ContactStatus,
    Deliverability,
    Event,
    EventKind,
    Frequency,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from listserver.models.forms import Field, Form, FormVersion, MailingList, form_lists
from listserver.models.mail import EmailKind, OutboxMessage, OutboxStatus
from listserver.models.users import ApiToken, Role, User

__all__ = [
    "BOUNCES", "DeliveryReport", "HygieneRun", "ReportKind", "ReportSource", "RunOutcome",
    "ApiToken", "AuditAction", "AuditEntry", "Frequency", "ConsentAction", "ConsentMethod", "ConsentRecord", "Contact",
    "ContactStatus", "Deliverability", "EmailKind", "Event", "EventKind", "Field", "Form", "FormVersion",
    "MailingList", "OutboxMessage", "OutboxStatus", "Role", "Subscription", "SubscriptionStatus", "Suppression",
    "User", "form_lists",
]
