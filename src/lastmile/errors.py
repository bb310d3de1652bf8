"""The one exception type users see: a message that says what is wrong and what to do."""


class LastmileError(Exception):
    """A problem with the user's data, parameters or environment, explained in plain words.

    The CLI prints the message without a traceback and exits with ``exit_code``.
    """

    exit_code = 1
