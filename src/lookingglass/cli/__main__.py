"""`python -m lookingglass.cli ...` is `lookingglass ...`."""

import sys

from lookingglass.cli import main

sys.exit(main())
