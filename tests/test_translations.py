"""Every module ships complete French, German, Spanish and Dutch
translations: each term of its template (.pot) translated, with the same
placeholders, and nothing the template no longer has."""

import re

import devenv
import pytest
from babel.messages import pofile
from odoo_env import REPO

LANGUAGES = ("fr", "de", "es", "nl")
MODULES = devenv.ADDON_MODULES
# Python's %(name)s and %s, Odoo's {{ inline template }} and t-out/t-esc
# expressions, and HTML tags with their attributes.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\{.*?\}\}|<[^>]+>", re.DOTALL)


def _catalog(path):
    with path.open("rb") as file:
        return {message.id: message.string for message in pofile.read_po(file) if message.id}


def _placeholders(text):
    return sorted(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_translation_is_complete_and_keeps_every_placeholder(module, language):
    template = _catalog(REPO / module / "i18n" / f"{module}.pot")
    translation = _catalog(REPO / module / "i18n" / f"{language}.po")
    missing, stale = sorted(set(template) - set(translation)), sorted(set(translation) - set(template))
    assert not (missing or stale), (
        f"{module}/{language}.po is not merged with the template: missing {missing[:5]}, stale {stale[:5]}"
    )
    untranslated = [term for term, text in translation.items() if not text]
    assert not untranslated, f"{len(untranslated)} untranslated in {module}/{language}.po: {untranslated[:5]}"
    changed = [term for term, text in translation.items() if _placeholders(term) != _placeholders(text)]
    assert not changed, f"placeholders changed in {module}/{language}.po: {changed[:5]}"
