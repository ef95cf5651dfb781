"""Refuse Odoo's mail internals outside the add-on's one door to them.

The engine needs a few methods Odoo does not offer as hooks to send and log
in batches. They live in ``collections_automation/models/mail_batch.py``,
whose tests compare each with Odoo's public path; anywhere else in the
add-ons an Odoo update could change them unnoticed. Ruff bans imports
(``banned-api`` in pyproject.toml) but not method names, hence this check.
Tests may call them: they compare the door with Odoo.

Usage: python3 tools/lint_odoo_internals.py <add-on directories>
"""

import ast
import sys
from pathlib import Path

DOOR = Path("collections_automation/models/mail_batch.py")
INTERNALS = {
    "_generate_template": "mail.template's rendering",
    "_render_encapsulate": "the notification layout",
    "_render_lang": "a template's language per record",
    "_render_eval_context": "a template's evaluation context",
    "_mail_get_companies": "the company of each record's mail",
    "_message_log_batch": "chatter notes in bulk",
    "_track_get_fields": "mail's tracking",
    "_mail_track": "mail's tracking",
    "precommit": "mail's tracking buffer",
}


def find_internals(path):
    """[(line, name)] of the internals ``path`` reaches as attributes."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        (node.lineno, node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in INTERNALS
    ]


def main(directories):
    found = []
    for directory in directories:
        for path in sorted(Path(directory).rglob("*.py")):
            if path == DOOR or "tests" in path.parts:
                continue
            found += [(path, line, name) for line, name in find_internals(path)]
    for path, line, name in found:
        print(f"{path}:{line}: {name} ({INTERNALS[name]}) is an Odoo internal: go through {DOOR}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
