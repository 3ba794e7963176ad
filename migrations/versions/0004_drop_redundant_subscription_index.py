"""drop ix_subscription_contact_id: uq_subscription_contact_id (contact_id, list_id) serves its lookups

Every sign-up inserts a subscription row; one index less to update on each.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 05:00:00
"""

from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_contact_id'))


def downgrade() -> None:
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_contact_id'), ['contact_id'], unique=False)
