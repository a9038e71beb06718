"""The one exception type for bad input: the command line prints it as a one-line error."""


class BiogansError(Exception):
    """Bad input or an unusable file; the message names the file and the problem."""
