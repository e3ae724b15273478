"""The import layering holds: the contracts in pyproject.toml [tool.importlinter].

Entry points (api, pages, admin, management commands, tasks) call services; services
write and call selectors; selectors read models. mlpipeline never imports Django or the
labeling app, and no package's modules import each other in a circle.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# import-linter reads the source files (nothing is imported); run as `lint-imports` would.
LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"
)


def test_the_import_contracts_are_kept():
    done = subprocess.run(
        [sys.executable, "-c", LINT], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
