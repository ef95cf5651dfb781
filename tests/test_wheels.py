"""``make dist``'s wheels install like any OCA add-on's: into a fresh
virtualenv beside the Odoo 19 source, and Odoo installs the modules from
them, without this repository in its addons path."""

import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import devenv
import pytest
from odoo_env import REPO, drop_database, install_modules, module_states, run_odoo, write_config

MODULES = devenv.ADDON_MODULES
DATABASE = "collections_wheel_check"


def _run(command, **kwargs):
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=900, check=False, **kwargs
    )
    assert not result.returncode, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel_venv():
    """The wheels built by make dist's command, installed into a new
    virtualenv that sees the environment's packages (Odoo's source and
    requirements) but not this checkout."""
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        _run([sys.executable, REPO / "tools" / "devenv.py", "dist", "--output", folder / "dist"])
        wheels = sorted((folder / "dist").glob("*.whl"))
        _run([sys.executable, "-m", "venv", folder / "venv"])
        python = folder / "venv" / "bin" / "python"
        site_packages = _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).strip()
        environment = sysconfig.get_paths()["purelib"]
        # addsitedir, not a bare path: the environment's own .pth files
        # (Odoo's source) apply too.
        (Path(site_packages) / "collections-environment.pth").write_text(
            f"import site; site.addsitedir({environment!r})\n"
        )
        _run([python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", *wheels])
        yield {"python": python, "wheels": wheels, "site_packages": Path(site_packages), "folder": folder}


def _requirements(python, distribution):
    script = f"from importlib.metadata import requires; print('\\n'.join(requires({distribution!r})))"
    return set(_run([python, "-c", script]).split())


def test_the_wheels_name_what_each_module_needs(wheel_venv):
    names = sorted(wheel.name.split("-")[0] for wheel in wheel_venv["wheels"])
    assert names == sorted(f"odoo_addon_{module}" for module in MODULES)
    python = wheel_venv["python"]
    assert _requirements(python, "odoo-addon-collections_automation_sms") == {
        "odoo-addon-collections_automation==19.0.*",
        "odoo==19.0.*",
    }
    assert _requirements(python, "odoo-addon-collections_automation_queue_job") == {
        "odoo-addon-collections_automation==19.0.*",
        "odoo-addon-queue_job==19.0.*",
        "odoo==19.0.*",
    }
    assert _requirements(python, "odoo-addon-collections_automation_stripe") == {
        "odoo-addon-collections_automation==19.0.*",
        "odoo==19.0.*",
        "stripe",
    }
    assert _requirements(python, "odoo-addon-collections_automation_score") == {
        "odoo-addon-collections_automation==19.0.*",
        "odoo==19.0.*",
        "scikit-learn",
        "threadpoolctl",
    }
    core = _requirements(python, "odoo-addon-collections_automation")
    assert "odoo==19.0.*" in core
    assert not [requirement for requirement in core if requirement.startswith("stripe")], core


def test_odoo_installs_the_modules_from_the_wheels(wheel_venv):
    conf = write_config(wheel_venv["folder"] / "wheels.conf")
    python = wheel_venv["python"]
    drop_database(DATABASE)
    try:
        common = {"config": conf, "python": python, "cwd": wheel_venv["folder"]}
        install_modules(DATABASE, *MODULES, **common)
        assert module_states(DATABASE, MODULES) == dict.fromkeys(MODULES, "installed")
        where = run_odoo(
            "shell",
            "-d",
            DATABASE,
            "--no-http",
            stdin="from odoo.modules.module import get_module_path\n"
            + "".join(f"print('PATH', get_module_path({module!r}))\n" for module in MODULES),
            **common,
        ).stdout
        paths = [line.split(" ", 1)[1] for line in where.splitlines() if line.startswith("PATH ")]
        assert len(paths) == len(MODULES)
        assert all(Path(path).is_relative_to(wheel_venv["site_packages"]) for path in paths), paths
    finally:
        drop_database(DATABASE)
