"""What every domain uses and no domain owns. Nothing here imports a domain package.

The rules of the house, in the order a newcomer needs them:

* **Layers.** Imports point down: the app factory → the domains (one package each, in the order
  below) → ``web`` (HTTP helpers) → ``core`` → ``extensions``. A domain may import the domains
  below it, never one above; ``tests/test_architecture.py`` reads the imports and fails on a cycle.
  Bottom to top: events, accounts, scope, checklists, auditors, findings, photos, audits, capa,
  improvements, gaps, programme, review, reports, outbox, pwa, ops.
* **A domain package** holds ``models.py`` (tables; no request, no templates), ``schemas.py``
  (marshmallow: the one place input is validated), ``services.py`` (the rules, plain functions
  over models) and ``views.py`` (parse → call a service → render).
* **Who commits.** Services never commit. A request's unit of work is committed by its view at the
  end, or by ``core.changes.applies_change`` together with the change id; a CLI command commits
  its own work. Batches of independent changes (the outbox importer, reminder e-mails, checklist
  sync) commit once per unit in their one loop, so one refusal never undoes the others.
* **Errors are types.** A rule that refuses raises a ``core.errors.RuleError`` (field + message);
  its class says the HTTP status, mapped once in ``web.errors``. Views that re-render a form in
  place catch it and use ``err.status``; they never choose a status from a message's text.
* **One owner for each flow.** When a finding changes, ``findings.services.finding_changed`` is
  sent and the domains that follow it (nonconformities, the improvement register, gap actions)
  are connected to it in one place, the app factory's ``register_flows``.
"""
