"""Each module's README.rst and Apps page (static/description/index.html),
generated from its manifest and its readme/ fragments, as OCA's
oca-gen-addon-readme lays them out.

The fragments are Markdown of a small subset, which this converts to
reStructuredText: ``##``/``###`` headings, paragraphs, ``-`` and ``1.``
lists, inline code, emphasis and links, pipe tables (a list-table) and code
blocks, fenced or indented by four spaces (a literal block). Anything else
is refused rather than rendered wrong."""

import ast
import re
from pathlib import Path

# The sections after the description, in OCA's order.
SECTIONS = (("CONFIGURE", "Configuration"), ("USAGE", "Usage"), ("HISTORY", "Changelog"))
HEADING_UNDERLINES = {2: "-", 3: "~"}
REFUSED_MARKDOWN = re.compile(r"^(>|#{4,}|\* )")
TABLE_RULE = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")


class FragmentError(ValueError):
    pass


def _inline(text):
    # Code spans first, so that a link's rst backticks are never taken for one.
    parts = re.split(r"(`[^`]+`)", text)
    return "".join(
        f"`{part}`" if part.startswith("`") else re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"`\1 <\2>`_", part)
        for part in parts
    )


def _table_cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table_to_rst(rows, source, number):
    """A pipe table (a header, its rule, its rows) as a list-table."""
    header, *body = [_table_cells(row) for row in rows[:1] + rows[2:]]
    if any(len(row) != len(header) for row in body):
        raise FragmentError(f"{source}:{number}: a table row has not as many cells as its header")
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *body]:
        lines += [
            f"   {'* -' if index == 0 else '  -'} {_inline(cell) or '..'}" for index, cell in enumerate(row)
        ]
    return [*lines, ""]


def _code_to_rst(code):
    return ["::", "", *(f"    {line}" if line.strip() else "" for line in code), ""]


def _read_block(source_lines, index, source, previous):
    """A code block or a table starting at ``index``: (rst lines, the index
    after it), or None."""
    line, number = source_lines[index], index + 1
    if line.startswith("```"):
        end = next(
            (i for i in range(index + 1, len(source_lines)) if source_lines[i].startswith("```")), None
        )
        if end is None:
            raise FragmentError(f"{source}:{number}: a code block that is never closed")
        return _code_to_rst(source_lines[index + 1 : end]), end + 1
    if line.startswith("    ") and line.strip() and (not previous or not previous[-1].strip()):
        end = index + 1
        while end < len(source_lines) and (
            source_lines[end].startswith("    ") or not source_lines[end].strip()
        ):
            end += 1
        code = [text[4:] for text in source_lines[index:end]]
        while not code[-1].strip():
            code.pop()
        return _code_to_rst(code), end
    if line.startswith("|"):
        end = index + 1
        while end < len(source_lines) and source_lines[end].startswith("|"):
            end += 1
        rows = source_lines[index:end]
        if len(rows) < 2 or not TABLE_RULE.match(rows[1].replace(" ", "")):
            raise FragmentError(f"{source}:{number}: a table needs a header and its rule: {line!r}")
        return _table_to_rst(rows, source, number), end
    return None


def _line_to_rst(line, number, source):
    if REFUSED_MARKDOWN.match(line):
        raise FragmentError(f"{source}:{number}: not in the Markdown subset of readme/: {line!r}")
    if heading := re.match(r"^(#{2,3}) (.+)$", line):
        title = _inline(heading.group(2).strip())
        return [title, HEADING_UNDERLINES[len(heading.group(1))] * len(title)]
    if line.startswith("# "):
        raise FragmentError(f"{source}:{number}: a fragment's headings start at '##'")
    return [_inline(line)]


def markdown_to_rst(markdown, source):
    source_lines = markdown.splitlines()
    lines = []
    index = 0
    while index < len(source_lines):
        block = _read_block(source_lines, index, source, lines)
        if block:
            rst, index = block
            lines += rst
        else:
            lines += _line_to_rst(source_lines[index], index + 1, source)
            index += 1
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
