from __future__ import annotations

import sys
from pathlib import Path

# the shared test neighbourhood (homes.py) sits beside the tests
sys.path.insert(0, str(Path(__file__).resolve().parent))
