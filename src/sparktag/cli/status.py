"""Exit codes of every ``sparktag`` command, and the error that means "the command line asked for something
this command cannot do" (exit code 2, like argparse's own usage errors)."""

from __future__ import annotations

OK = 0
FAILED = 1  # training (or another step) failed: the traceback says where
USAGE = 2  # bad flags or bad input, found before any work started (missing file, malformed CoNLL line, ...)
NOT_TRACKED = 3  # the work is done and kept locally, but MLflow could not be reached (sparktag upload later)

EPILOG = (
    "exit codes: 0 done; 1 failed (e.g. training); 2 usage error or bad input, found before Spark starts; "
    "3 done, but the MLflow tracking server was unreachable (the files are kept; see sparktag upload)"
)


class UsageError(Exception):
    """Bad flags or input: printed as ``sparktag COMMAND: error: MESSAGE`` and exit code 2."""
