"""Initial schema: devices and enrolment, submissions, inspections, bundle, slots and bookings.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enrolment_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("site", sa.String(100), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("expires_at", _tz(), nullable=False),
        sa.Column("used_at", _tz()),
        sa.Column("device_id", sa.String(36)),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("site", sa.String(100), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("revoked_at", _tz()),
        sa.Column("last_seen_at", _tz()),
        sa.Column("heartbeat", sa.JSON()),
    )
    op.create_table(
        "request_nonces",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("seen_at", _tz(), nullable=False),
    )
    op.create_index("ix_request_nonces_seen_at", "request_nonces", ["seen_at"])
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(100), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("submitted_at", _tz(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("sealed_personal", sa.LargeBinary()),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("received_at", _tz(), nullable=False),
        sa.Column("via", sa.String(10), nullable=False),
    )
    op.create_index("submissions_by_service_day", "submissions", ["service_id", "local_day"])
    op.create_table(
        "inspections",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("site", sa.String(100), nullable=False),
        sa.Column("checkpoint_id", sa.String(64), nullable=False),
        sa.Column("at", _tz(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("received_at", _tz(), nullable=False),
        sa.Column("via", sa.String(10), nullable=False),
    )
    op.create_index("inspections_by_checkpoint_day", "inspections", ["checkpoint_id", "local_day"])
    op.create_table(
        "bundle_parts",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("content", sa.JSON()),
        sa.Column("updated_at", _tz(), nullable=False),
    )
    op.create_table(
        "slots",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("site", sa.String(100), nullable=False),
        sa.Column("service_id", sa.String(64), nullable=False),
        sa.Column("starts_at", _tz(), nullable=False),
        sa.Column("ends_at", _tz(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
    )
    op.create_index("slots_by_site_service", "slots", ["site", "service_id", "starts_at"])
    op.create_table(
        "bookings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("slot_id", sa.String(36), sa.ForeignKey("slots.id"), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
    )
    op.create_index("ix_bookings_slot_id", "bookings", ["slot_id"])
