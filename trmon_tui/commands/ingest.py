"""`trmon-tui ingest`: not built yet."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    print("trmon-tui: 'ingest' is not built yet in this version.", file=sys.stderr)
    return 2
