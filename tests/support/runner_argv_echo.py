"""Print this process's arguments as a JSON list (for the injection tests)."""

from __future__ import annotations

import json
import sys

print(json.dumps(sys.argv[1:]))
