"""`python -m harness.proxy`: the fault proxy standalone, the same as `stampede proxy`."""

import sys

from harness.proxy.serve import cli

sys.exit(cli())
