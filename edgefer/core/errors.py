"""The one exception type whose message is shown to the user as a single line."""


class EdgeferError(Exception):
    """Bad input or an unmet precondition; the CLI prints ``error: <message>`` and exits non-zero."""

    exit_code = 2
