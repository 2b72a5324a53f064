"""The changes an auditor may make offline: queued on the phone, replayed later, each applied once.

This is the one list of them. The service worker and the page script get their URL patterns from
the app's URL map for these endpoints; the outbox importer dispatches through the same endpoints.
"""

REPLAYABLE_ENDPOINTS = (
    "audits.answer",
    "audits.note",
    "findings.save_for_item",
    "findings.save_adhoc",
    "photos.upload",
)
