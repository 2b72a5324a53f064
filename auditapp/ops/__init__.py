"""Running auditapp: health checks, backups and restores."""
