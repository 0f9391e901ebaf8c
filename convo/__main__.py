"""`python -m convo` runs the `convo` command."""

from __future__ import annotations

import sys

from convo._cli import main

sys.exit(main())
