"""``python -m simulators`` is ``kiosk-sim``."""
import sys

from simulators.cli import main

sys.exit(main())
