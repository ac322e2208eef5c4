"""Reference central server for the kiosks: enrolment, bundle, batched idempotent upload, statistics."""
