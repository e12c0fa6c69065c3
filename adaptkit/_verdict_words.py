"""The words of transfer-verdict warnings that code reads back (``compare``, the sweep leaderboard): one place, no imports."""

UNLEARNED_BASELINE = "no verdict against a baseline that did not learn"
"""The start of the verdict's warning when the from-scratch baseline learned nothing (one class on every example)."""
