"""preferences: frequency, pause, audit trail

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:36:50.156798
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry'))
    )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frequency', sa.Enum('all', 'weekly', 'monthly', name='frequency', native_enum=False, length=20), nullable=False,
                                      server_default='all'))
        batch_op.add_column(sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('paused_until')
        batch_op.drop_column('frequency')

    op.drop_table('audit_entry')
