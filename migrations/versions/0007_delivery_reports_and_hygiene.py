"""delivery reports (bounces, complaints, engagement from providers and bounce mail), hygiene runs, contact delivery and sunset times

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:01:16.469611
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('hygiene_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('progressed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hygiene_run'))
    )
    with op.batch_alter_table('hygiene_run', schema=None) as batch_op:
        batch_op.create_index('uq_hygiene_run_running', ['outcome'], unique=True,
                              postgresql_where=sa.text("outcome = 'running'"),
                              sqlite_where=sa.text("outcome = 'running'"))
    op.create_table('delivery_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.Column('recipient_domain', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('machine', sa.Boolean(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_delivery_report_contact_id_contact'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_message.id'], name=op.f('fk_delivery_report_outbox_message_id_outbox_message'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_report')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_delivery_report_source'))
    )
    with op.batch_alter_table('delivery_report', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_report_contact', ['contact_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_delivery_report_kind_occurred', ['kind', 'occurred_at'], unique=False)
        batch_op.create_index('ix_delivery_report_new', ['processed_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_report_outbox_message_id'), ['outbox_message_id'], unique=False)

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_delivered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('repermission_asked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('data_check_asked_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('data_check_asked_at')
        batch_op.drop_column('repermission_asked_at')
        batch_op.drop_column('last_delivered_at')

    with op.batch_alter_table('delivery_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_report_outbox_message_id'))
        batch_op.drop_index('ix_delivery_report_new')
        batch_op.drop_index('ix_delivery_report_kind_occurred')
        batch_op.drop_index('ix_delivery_report_contact')

    op.drop_table('delivery_report')
    with op.batch_alter_table('hygiene_run', schema=None) as batch_op:
        batch_op.drop_index('uq_hygiene_run_running')

    op.drop_table('hygiene_run')
