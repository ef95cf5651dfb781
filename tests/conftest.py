import sys
from pathlib import Path

# Suite-level helpers (odoo_env) are imported by the tests of this folder, and
# so is the development environment's script (tools/devenv.py), for what
# make run does.
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tools"))
