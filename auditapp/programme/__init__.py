"""The audit programme (ISO 9001 9.2.2) and the auditor register (ISO 19011 clause 7)."""
