"""Self-service forms: service definitions, answers, submissions, receipts content, appointment slots."""
