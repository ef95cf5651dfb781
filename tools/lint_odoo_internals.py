"""Refuse Odoo's internals outside the add-on's doors to them.

The engine needs a few methods Odoo does not offer as hooks to send, log
and number in batches. They live in one door for each part of Odoo
(``collections_automation/models/mail_batch.py`` for mail,
``sequence_batch.py`` for sequences), whose tests compare each with Odoo's
public path; anywhere else in the add-ons an Odoo update could change them
unnoticed. Ruff bans imports
(``banned-api`` in pyproject.toml) but not method names, hence this check.
Tests may call them: they compare the door with Odoo.

Usage: python3 tools/lint_odoo_internals.py <add-on directories>
"""

import ast
import sys
from pathlib import Path

MAIL_DOOR = Path("collections_automation/models/mail_batch.py")
SEQUENCE_DOOR = Path("collections_automation/models/sequence_batch.py")
# {internal: (what it is, its door)}
INTERNALS = {
    "_generate_template": ("mail.template's rendering", MAIL_DOOR),
    "_render_encapsulate": ("the notification layout", MAIL_DOOR),
    "_render_lang": ("a template's language per record", MAIL_DOOR),
    "_render_eval_context": ("a template's evaluation context", MAIL_DOOR),
    "_mail_get_companies": ("the company of each record's mail", MAIL_DOOR),
    "_message_log_batch": ("chatter notes in bulk", MAIL_DOOR),
    "_track_get_fields": ("mail's tracking", MAIL_DOOR),
    "_mail_track": ("mail's tracking", MAIL_DOOR),
    "precommit": ("mail's tracking buffer", MAIL_DOOR),
    "_get_prefix_suffix": ("a sequence's interpolated prefix and suffix", SEQUENCE_DOOR),
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
            if "tests" in path.parts:
                continue
            found += [(path, line, name) for line, name in find_internals(path) if path != INTERNALS[name][1]]
    for path, line, name in found:
        what, door = INTERNALS[name]
        print(f"{path}:{line}: {name} ({what}) is an Odoo internal: go through {door}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
