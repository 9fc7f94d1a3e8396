"""The one exception type users see: the CLI prints its message on one line and exits non-zero."""


class UserError(Exception):
    """Bad input or a failed precondition the user can fix. The message names the file and what to do."""


class StreamBroken(UserError):
    """A video that stopped decoding part-way; the frames before the break were good."""
