"""智慧批: the decision about each decided submission, an audit row per decision event, and the reference
data sets the rules look applicants up in (every version loaded is recorded; only the newest keeps its rows).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("submission_id", sa.String(36), sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("datasets", sa.JSON(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(8), nullable=False),
        sa.Column("code", sa.Text()),
    )
    op.create_index("decisions_by_service_day", "decisions", ["service_id", "decided_at"])
    op.create_index("decisions_by_outcome", "decisions", ["outcome", "decided_at"])
    op.create_table(
        "decision_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("submission_id", sa.String(36), sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("decided_by", sa.String(8), nullable=False),
        sa.Column("manager", sa.String(64)),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("datasets", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
    )
    op.create_index("decision_audit_by_submission", "decision_audit", ["submission_id", "id"])
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(48), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary()),
    )
    op.create_index("datasets_by_name", "datasets", ["name", "id"])


def downgrade() -> None:
    op.drop_index("datasets_by_name", "datasets")
    op.drop_table("datasets")
    op.drop_index("decision_audit_by_submission", "decision_audit")
    op.drop_table("decision_audit")
    op.drop_index("decisions_by_outcome", "decisions")
    op.drop_index("decisions_by_service_day", "decisions")
    op.drop_table("decisions")
