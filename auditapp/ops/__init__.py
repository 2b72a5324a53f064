"""Running auditapp: health and readiness answers for load balancers and monitoring, and backups
(`flask backup create | verify | restore`).

The top layer: it may look at every part (database, migrations, photo storage) and no part depends on it.
"""
