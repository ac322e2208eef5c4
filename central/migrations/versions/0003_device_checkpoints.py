"""Devices are bound to checkpoints: an enrolment code names the checkpoints its device may report
inspections under, and enrolment copies them to the device.

Devices enrolled before this revision keep the checkpoints they have already reported under (what they were
set up for); one that reported none is bound to none until ``kiosk-central device-checkpoints`` binds it.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrolment_codes") as batch:
        batch.add_column(sa.Column("checkpoints", sa.JSON()))
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("checkpoints", sa.JSON()))
    conn = op.get_bind()
    devices = sa.table("devices", sa.column("id", sa.String), sa.column("checkpoints", sa.JSON))
    inspections = sa.table(
        "inspections", sa.column("device_id", sa.String), sa.column("checkpoint_id", sa.String)
    )
    bound: dict[str, list[str]] = {}
    for device_id, checkpoint_id in conn.execute(
        sa.select(inspections.c.device_id, inspections.c.checkpoint_id).distinct()
    ):
        bound.setdefault(device_id, []).append(checkpoint_id)
    for (device_id,) in conn.execute(sa.select(devices.c.id)):
        conn.execute(
            devices.update()
            .where(devices.c.id == device_id)
            .values(checkpoints=sorted(bound.get(device_id, [])))
        )


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("checkpoints")
    with op.batch_alter_table("enrolment_codes") as batch:
        batch.drop_column("checkpoints")
