"""Tables of the central database (SQLAlchemy 2.0). The schema itself is created by the Alembic
migrations in ``central/migrations``; these classes must describe the same tables."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class EnrolmentCode(Base):
    __tablename__ = "enrolment_codes"
    # Only a hash is kept, so a copy of the database does not hand out unused codes.
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    device_id: Mapped[str | None] = mapped_column(String(36))
    # The checkpoint ids the enrolled device may report inspections under (central.enrolment).
    checkpoints: Mapped[list[str] | None] = mapped_column(JSON)


class Device(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Inspections under any other checkpoint id are rejected; a self-service kiosk has none.
    checkpoints: Mapped[list[str] | None] = mapped_column(JSON)


class RequestNonce(Base):
    __tablename__ = "request_nonces"
    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Submission(Base):
    __tablename__ = "submissions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36))
    site: Mapped[str] = mapped_column(String(100))
    service_id: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    local_day: Mapped[date] = mapped_column(Date)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Sealed to the central key on the kiosk; the API stores it as it came and cannot read it.
    sealed_personal: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    via: Mapped[str] = mapped_column(String(10))

    __table_args__ = (Index("submissions_by_service_day", "service_id", "local_day"),)


class Inspection(Base):
    __tablename__ = "inspections"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(36))
    site: Mapped[str] = mapped_column(String(100))
    checkpoint_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    local_day: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    subject_hash: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(100))
    content_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    via: Mapped[str] = mapped_column(String(10))

    __table_args__ = (Index("inspections_by_checkpoint_day", "checkpoint_id", "local_day"),)


class BundlePart(Base):
    __tablename__ = "bundle_parts"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Nullable in migration 0001; set_part never stores a null.
    content: Mapped[Any] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Slot(Base):
    __tablename__ = "slots"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site: Mapped[str] = mapped_column(String(100))
    service_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("slots_by_site_service", "site", "service_id", "starts_at"),)


class Booking(Base):
    __tablename__ = "bookings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    slot_id: Mapped[str] = mapped_column(ForeignKey("slots.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(36))
    reference: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Manager(Base):
    """A person who may read the web dashboard (``kiosk-central manager-add``); see ``central.managers``."""

    __tablename__ = "managers"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Decision(Base):
    """The decision about a submission (智慧批), one per submission: by the rules on arrival, or later by a
    manager for one the rules left to a person. Written only by ``central.decisions``."""

    __tablename__ = "decisions"
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(8))  # approved | rejected | manual
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)  # [{"zh-CN", "en"}], only for rejected
    rule: Mapped[str] = mapped_column(String(100))  # "id@version" of the decision file
    datasets: Mapped[dict[str, str]] = mapped_column(JSON)  # set name -> version the rule looked in
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str] = mapped_column(String(8))  # rules | manager
    code: Mapped[str | None] = mapped_column(Text)  # the signed decision code, only when approved

    __table_args__ = (
        Index("decisions_by_service_day", "service_id", "decided_at"),
        Index("decisions_by_outcome", "outcome", "decided_at"),
    )


class DecisionAudit(Base):
    """One row per decision event: the rules' decision (a fall to a person with its note: a rule that raised
    or ran too long, a missing or stale data set), or a manager's decision with the manager's account."""

    __tablename__ = "decision_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(8))
    decided_by: Mapped[str] = mapped_column(String(8))
    manager: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(100))
    datasets: Mapped[dict[str, str]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(500))

    __table_args__ = (Index("decision_audit_by_submission", "submission_id", "id"),)


class DataSetVersion(Base):
    """A reference data set as loaded (``kiosk-central dataset-load``): every version loaded stays recorded;
    the newest of a name is in force and alone keeps its rows (gzip of the set's JSON, identifiers as keyed
    hashes), which each API process reads into memory when it sees a newer version. Owner:
    ``central.datasets``."""

    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(48))
    version: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(200))  # the file name it was loaded from
    fields: Mapped[list[str]] = mapped_column(JSON)
    row_count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (Index("datasets_by_name", "name", "id"),)
