"""Each module's README.rst and Apps page (static/description/index.html),
generated from its manifest and its readme/ fragments, as OCA's
oca-gen-addon-readme lays them out.

The fragments are Markdown of a small subset, which this converts to
reStructuredText: ``##``/``###`` headings, paragraphs, ``-`` and ``1.``
lists, inline code, emphasis and links. Anything else is refused rather
than rendered wrong."""

import ast
import re
from pathlib import Path

# The sections after the description, in OCA's order.
SECTIONS = (("CONFIGURE", "Configuration"), ("USAGE", "Usage"), ("HISTORY", "Changelog"))
HEADING_UNDERLINES = {2: "-", 3: "~"}
REFUSED_MARKDOWN = re.compile(r"^(```|>|\||#{4,}|\* |    \S)")


class FragmentError(ValueError):
    pass


def _inline(text):
    # Code spans first, so that a link's rst backticks are never taken for one.
    parts = re.split(r"(`[^`]+`)", text)
    return "".join(
        f"`{part}`" if part.startswith("`") else re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"`\1 <\2>`_", part)
        for part in parts
    )


def markdown_to_rst(markdown, source):
    lines = []
    for number, line in enumerate(markdown.splitlines(), 1):
        if REFUSED_MARKDOWN.match(line):
            raise FragmentError(f"{source}:{number}: not in the Markdown subset of readme/: {line!r}")
        heading = re.match(r"^(#{2,3}) (.+)$", line)
        if heading:
            title = _inline(heading.group(2).strip())
            lines += [title, HEADING_UNDERLINES[len(heading.group(1))] * len(title)]
        elif line.startswith("# "):
            raise FragmentError(f"{source}:{number}: a fragment's headings start at '##'")
        else:
            lines.append(_inline(line))
    return "\n".join(lines).strip() + "\n"


def _section(title, body):
    return f"{title}\n{'=' * len(title)}\n\n{body}"


def render_readme(module_dir):
    module_dir = Path(module_dir)
    manifest = ast.literal_eval((module_dir / "__manifest__.py").read_text())
    readme = module_dir / "readme"
    title = manifest["name"]
    parts = [
        f"{'=' * len(title)}\n{title}\n{'=' * len(title)}\n",
        f"*{manifest['summary']}*\n",
        f":Version: {manifest['version']}\n:License: {manifest['license']}\n"
        f":Status: {manifest['development_status']}\n",
        markdown_to_rst((readme / "DESCRIPTION.md").read_text(), readme / "DESCRIPTION.md"),
    ]
    for fragment, section in SECTIONS:
        path = readme / f"{fragment}.md"
        if path.is_file():
            parts.append(_section(section, markdown_to_rst(path.read_text(), path)))
    maintainers = ", ".join(manifest["maintainers"])
    parts.append(_section("Credits", f"Authors: {manifest['author']}. Maintainers: {maintainers}.\n"))
    return "\n".join(parts)


def render_description_page(readme_rst, source):
    """The Apps page: the README in HTML, through docutils; a warning of
    docutils (a malformed fragment) is an error."""
    from docutils.core import publish_parts  # noqa: PLC0415 -- docutils comes with Odoo's requirements

    parts = publish_parts(
        readme_rst,
        source_path=str(source),
        writer_name="html5",
        settings_overrides={
            "halt_level": 2,
            "report_level": 2,
            "embed_stylesheet": False,
            "stylesheet_path": "",
        },
    )
    return f'<section class="oe_container">\n{parts["html_title"]}{parts["body"]}</section>\n'


def generated_files(module_dir):
    """{path: text} of the module's generated README.rst and Apps page."""
    module_dir = Path(module_dir)
    readme_rst = render_readme(module_dir)
    return {
        module_dir / "README.rst": readme_rst,
        module_dir / "static" / "description" / "index.html": render_description_page(
            readme_rst, module_dir / "README.rst"
        ),
    }
