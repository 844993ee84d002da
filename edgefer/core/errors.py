"""The one exception type whose message is shown to the user as a single line."""


class EdgeferError(Exception):
    """Bad input or an unmet precondition; the CLI prints ``error: <message>`` and exits non-zero."""

    exit_code = 2


class WriteError(EdgeferError):
    """The system refused a write (a full disk, no permission): exit code 1, as the reliability guide says."""

    exit_code = 1
