"""``python -m csdp``: the csdp command, for environments where its script is not on PATH."""

import sys

from csdp.cli.main import main

sys.exit(main())
