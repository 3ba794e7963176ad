"""SQLAlchemy models, one module per domain."""

from listserver.models.contacts import (
    AuditEntry,
    ConsentAction,
    ConsentRecord,
    Contact,
    ContactStatus,
    Deliverability,
    Event,
    Frequency,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from listserver.models.forms import Field, Form, FormVersion, MailingList, form_lists
from listserver.models.mail import OutboxMessage, OutboxStatus
from listserver.models.users import ApiToken, User

__all__ = [
    "ApiToken", "AuditEntry", "Frequency", "ConsentAction", "ConsentRecord", "Contact", "ContactStatus",
    "Deliverability", "Event", "Field", "Form", "FormVersion", "MailingList", "OutboxMessage", "OutboxStatus",
    "Subscription", "SubscriptionStatus", "Suppression", "User", "form_lists",
]
