"""The setup behind 'make run' and 'make test' refuses what it cannot use,
with one clear line, before building anything."""

import email
import email.policy
import re
import smtplib
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import devenv
import pytest
from mail_catcher import MailCatcher

REPO = Path(__file__).resolve().parent.parent
# The interpreter the virtualenv was made from: it cannot import Odoo, like a
# fresh machine's Python.
BASE_PYTHON = sys._base_executable


def run_devenv(tmp_path, *args, **env):
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "COLLECTIONS_ENV": str(tmp_path / "env"),
        # Nothing listens on the discard port: the download fails at once,
        # as it does on a machine without network.
        "ODOO_NIGHTLY_URL": "http://127.0.0.1:9/odoo_19.0.latest.tar.gz",
        **env,
    }
    return subprocess.run(
        [BASE_PYTHON, str(REPO / "tools" / "devenv.py"), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def fake_odoo_tree(root, version_info):
    (root / "odoo").mkdir(parents=True)
    (root / "odoo" / "release.py").write_text(f"version_info = {version_info!r}\n")
    return root


def test_without_any_odoo_source_it_fails_fast_with_one_line(tmp_path):
    result = run_devenv(tmp_path, "run")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: no Odoo 19 source: set ODOO_SRC=")
    assert not (tmp_path / "env" / "venv").exists(), "nothing is built before the source is known"


@pytest.mark.parametrize("version_info", [(18, 0, 0, "final", 0, ""), (17, 0, 0, "final", 0, "")])
def test_another_odoo_version_is_refused(tmp_path, version_info):
    tree = fake_odoo_tree(tmp_path / "odoo-src", version_info)
    result = run_devenv(tmp_path, "env", ODOO_SRC=str(tree))
    assert result.returncode == 2
    assert f"is Odoo {version_info[0]}.0, collections_automation needs Odoo 19.0" in result.stderr
    assert not (tmp_path / "env" / "odoo").exists()


def test_a_path_without_odoo_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_devenv(tmp_path, "env", ODOO_SRC=str(tmp_path / "empty"))
    assert result.returncode == 2
    assert "holds no Odoo source" in result.stderr


def test_an_archive_of_another_version_is_refused(tmp_path):
    tree = fake_odoo_tree(tmp_path / "odoo-18.0", (18, 0, 0, "final", 0, ""))
    archive = tmp_path / "odoo_18.0.tar.gz"
    subprocess.run(["tar", "czf", str(archive), "-C", str(tmp_path), tree.name], check=True)
    result = run_devenv(tmp_path, "env", ODOO_SRC=str(archive))
    assert result.returncode == 2
    assert "is Odoo 18.0" in result.stderr


def test_pre_commit_runs_the_versions_make_lint_runs():
    """.pre-commit-config.yaml is make lint for machines that fetch hooks:
    the same ruff and pylint-odoo as requirements-test.txt pins."""
    pins = dict(
        line.split("==")
        for line in (REPO / "requirements-test.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    config = (REPO / ".pre-commit-config.yaml").read_text()
    revisions = dict(re.findall(r"repo: https://github.com/[\w-]+/([\w-]+)\n\s+rev: v([\d.]+)", config))
    assert revisions["ruff-pre-commit"] == pins["ruff"]
    assert revisions["pylint-odoo"] == pins["pylint-odoo"]
    assert "--rcfile=.pylintrc" in config


def test_every_module_readme_is_generated_from_its_fragments():
    """README.rst and the Apps page are make readme's output, not edited by
    hand: a fragment changed without make readme fails here."""
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "devenv.py"), "readme", "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for module in devenv.ADDON_MODULES:
        for fragment in ("DESCRIPTION.md", "USAGE.md", "HISTORY.md"):
            assert (REPO / module / "readme" / fragment).is_file(), f"{module}/readme/{fragment}"


def test_fragments_in_the_markdown_subset_convert_and_the_rest_is_refused():
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import addon_readme  # noqa: PLC0415 -- tools/ is not a package
    finally:
        sys.path.pop(0)
    rst = addon_readme.markdown_to_rst(
        "## 19.0.1.0.0\n\n- see [the manual](https://example.com), `make test`\n", "HISTORY.md"
    )
    assert rst == ("19.0.1.0.0\n----------\n\n- see `the manual <https://example.com>`_, ``make test``\n")
    assert addon_readme.markdown_to_rst("| a | b |\n|---|--:|\n| `x` | 1 |\n", "USAGE.md") == (
        ".. list-table::\n   :header-rows: 1\n\n   * - a\n     - b\n   * - ``x``\n     - 1\n"
    )
    assert addon_readme.markdown_to_rst("Run:\n\n```sh\nmake test\n```\n", "USAGE.md") == (
        "Run:\n\n::\n\n    make test\n"
    )
    refused = (
        "```sh\nmake test\n",
        "> a quote",
        "| a | table |",
        "| a |\n|---|\n| 1 | 2 |",
        "# Title",
        "#### Deep",
    )
    for markdown in refused:
        with pytest.raises(addon_readme.FragmentError):
            addon_readme.markdown_to_rst(markdown, "USAGE.md")


def test_odoos_own_test_runner_finds_every_test_module():
    """Odoo's runner (odoo-bin --test-enable, runbot) loads a module's tests
    through tests/__init__.py, where pytest finds the files itself: a test
    file missing from it runs here and nowhere else."""
    for init in REPO.glob("collections_automation*/tests/__init__.py"):
        imported = set(re.findall(r"^from \. import (\w+)", init.read_text(), re.MULTILINE))
        files = {path.stem for path in init.parent.glob("test_*.py")}
        assert files <= imported, f"{init.relative_to(REPO)} misses {sorted(files - imported)}"


def test_the_demo_mail_catcher_keeps_each_email_whole(tmp_path):
    """make run's mail server accepts what Odoo's SMTP client sends and
    keeps it as an .eml file, dot-stuffed lines restored."""
    catcher = MailCatcher(tmp_path).start()
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "ar@example.com", "ap@example.com", "Reminder"
        message.set_content("Dear customer,\n.a line that starts with a dot\nThank you")
        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=10) as client:
            client.send_message(message)
            client.send_message(message)
    finally:
        catcher.stop()
    kept = sorted(tmp_path.glob("*.eml"))
    assert len(kept) == 2
    parsed = email.message_from_bytes(kept[0].read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Reminder"
    assert ".a line that starts with a dot" in parsed.get_content()
