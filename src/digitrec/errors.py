"""The one exception type a user sees.

Every problem caused by the user's input (a file, a flag value, a model) is raised as a
`DigitrecError` whose message is one line naming the file or value and what is wrong with it.
The CLI prints that line and exits with code 1; anything else is a bug and keeps its traceback.
"""


class DigitrecError(ValueError):
    """Bad input: the message is one line that names the culprit and the problem."""
