"""Management review (ISO 9001 9.3): the review pack from live data, the meeting and its decisions."""
