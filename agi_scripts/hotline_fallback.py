#!/usr/bin/env python3
"""Classic AGI script of the degraded path; see agi_scripts/fallback.py.

Dialplan: AGI(hotline_fallback.py,--announcements=FILE,--queue=QUEUE,--greeting=SOUND…)
"""

import sys
from pathlib import Path

if not __package__:
    # Run by Asterisk as a file (possibly through a symlink in agi-bin): make the project's
    # packages importable from the real location of this file.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agi_scripts.fallback import main

if __name__ == "__main__":
    sys.exit(main())
