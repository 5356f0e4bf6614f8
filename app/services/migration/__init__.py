"""The migration service and its parts; ``MigrationService`` is what the API, the CLI and the wiring use."""

from app.services.migration.service import MigrationService

__all__ = ["MigrationService"]
