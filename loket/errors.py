"""The errors Loket reports to people: each carries one plain sentence, never a traceback."""


class LoketError(Exception):
    """Base of every error that the CLI and the apps show as a message."""


class Refused(LoketError):
    """The queue rules refuse an operation (unknown service, office closed, limit reached...)."""


class DeskInUse(Refused):
    """Another counter app holds this counter and was heard of lately."""

    def __init__(self, counter_name: str, since, seen_at) -> None:
        super().__init__(f"{counter_name} is already open on another screen")
        self.counter_name = counter_name
        self.since = since
        self.seen_at = seen_at


class ConfigError(LoketError):
    """The office configuration is invalid; the message names the key and the problem."""

    def __str__(self) -> str:
        return f"invalid office config: {self.args[0]}"


class StorageError(LoketError):
    """The database cannot be used: missing folder, read-only, locked, corrupt or too new."""


class Misconfigured(StorageError):
    """The database named is not one Loket can use as set up: neither a file nor a PostgreSQL
    URL, or a database without the office asked for (or with several, none named). Waiting
    will not help, so the apps say it before their screens open."""


class NotAllowed(StorageError):
    """The device's database role may not make this change (PostgreSQL's device roles)."""


class ImportRefused(LoketError):
    """An appointments import was refused whole; the message names the line or UID."""
