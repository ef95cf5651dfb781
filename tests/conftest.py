import sys
from pathlib import Path

# Suite-level helpers (odoo_env) are imported by the tests of this folder.
sys.path.insert(0, str(Path(__file__).parent))
