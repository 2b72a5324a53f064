"""What operations needs from a running app: health and readiness answers for load balancers and monitoring.

The top layer: it may look at every part (database, migrations, photo storage) and no part depends on it.
"""
