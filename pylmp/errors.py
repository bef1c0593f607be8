"""The one exception type that reaches the user as a one-line `error: ...` with exit code 2."""


class PylmpError(Exception):
    """Bad input or a failed run. The message names the cause and the fix, on one line."""
