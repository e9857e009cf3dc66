"""Loket: counter queue and ticketing for a city hall's front office.

The engine (`loket.engine.Engine`) is the only writer of the database; the CLI and the
Textual apps are its clients. Nothing in this package imports Textual.
"""

__version__ = "0.1.0"
