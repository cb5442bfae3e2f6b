"""`python -m core ...`: the command-line interface (main). An interface: it translates arguments into
calls of core.services and the engine, and prints results; exit code 2 with one line on bad input.
"""

from core.cli.commands import main  # noqa: F401
