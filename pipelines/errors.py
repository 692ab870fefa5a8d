"""Flux's one error tree.

Every error Flux raises on purpose derives from :class:`FluxError`; anything else is a bug and
keeps its traceback. The CLI maps each branch to an exit code::

    FluxError                      exit 1  a failure Flux understood
    ├── UsageError                 exit 2  a bad option, setting or missing configuration
    │   └── ConfigError            exit 2  settings that cannot be read or do not make sense
    ├── DataError                  exit 2  input data that cannot be used
    │   └── ImportFileError        exit 2  one file: names the file, row and field
    ├── DatabaseError              exit 1  the database is unreachable or misbehaves
    │   └── MigrationError         exit 2  the schema is behind and auto-migration is off
    ├── ArtifactError              exit 1  the store fails, or an artefact is missing/incomplete
    │   └── ArtifactIntegrityError exit 1  a stored file's checksum or manifest is wrong
    ├── TrainingJobError           exit 1  a SageMaker training job failed, stopped or timed out
    ├── ProviderError              exit 1  a POS vendor's API failed (retries spent, bad answer)
    │   ├── ProviderAuthError      exit 1  401/403: credentials refused; never retried
    │   └── CircuitOpenError       exit 1  the provider's circuit breaker is open (cool-down)
    └── PartialFailure             exit 3  some restaurants fell back or failed
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


class FluxError(Exception):
    """Base of every error Flux raises on purpose."""

    exit_code: int = EXIT_FAILURE


class UsageError(FluxError):
    """A bad option, setting or missing configuration."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """Settings that cannot be read or do not make sense."""


class DataError(FluxError):
    """Input data that cannot be used."""

    exit_code = EXIT_USAGE


class ImportFileError(DataError):
    """A file that cannot be imported; the message names the file, row and field.

    Args:
        path: The file.
        reason: What is wrong, in plain words.
        row: 1-based row number in the file (the header is row 1 of a CSV), if known.
        field: The column or JSON field, if known.
    """

    def __init__(
        self, path: str, reason: str, *, row: int | None = None, field: str | None = None
    ) -> None:
        self.path = path
        self.reason = reason
        self.row = row
        self.field = field
        parts = [path]
        if row is not None:
            parts.append(f"row {row}")
        if field is not None:
            parts.append(f"field {field!r}")
        super().__init__(f"{': '.join(parts)}: {reason}")


class DatabaseError(FluxError):
    """The database is unreachable or misbehaves."""


class MigrationError(DatabaseError):
    """The database schema is not at the revision this Flux expects."""

    exit_code = EXIT_USAGE


class ArtifactError(FluxError):
    """The artefact store is unreachable, or an artefact is missing, incomplete or unwritable."""


class ArtifactIntegrityError(ArtifactError):
    """A stored artefact file or manifest is corrupt; the message names the file."""


class TrainingJobError(FluxError):
    """A remote (SageMaker) training job failed, was stopped, timed out or left no usable model.

    Args:
        job_name: The training job.
        reason: What went wrong, in plain words (SageMaker's ``FailureReason`` when it gave one).
        status: The job's last known status (e.g. ``Failed``), if any.
    """

    def __init__(self, job_name: str, reason: str, *, status: str | None = None) -> None:
        self.job_name = job_name
        self.reason = reason
        self.status = status
        super().__init__(f"SageMaker training job {job_name}: {reason}")


class PartialFailure(FluxError):
    """Some restaurants fell back or failed; the run finished for the rest."""

    exit_code = EXIT_PARTIAL


class ProviderError(FluxError):
    """A POS vendor's API failed: retries spent, or an answer Flux cannot use.

    Args:
        provider: The vendor (``square``, ``clover``...).
        reason: What went wrong, in plain words (never a credential).
    """

    def __init__(self, provider: str, reason: str) -> None:
        self.provider = provider
        self.reason = reason
        super().__init__(f"{provider}: {reason}")


class ProviderAuthError(ProviderError):
    """The vendor refused the credentials (HTTP 401 or 403); the provider is stopped at once."""


class CircuitOpenError(ProviderError):
    """The provider's circuit breaker is open: calls are refused until its cool-down ends."""
