"""The pages' scripts are native ES modules: after collectstatic with the configured
storage, every relative import names a collected file and WhiteNoise serves each module
with a JavaScript content type (browsers refuse module scripts without one).
"""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management import call_command
from django.test import Client

REPO_ROOT = Path(__file__).resolve().parents[2]

IMPORT = re.compile(r'^import\b[^;]*?\bfrom\s+"([^"]+)";', re.MULTILINE | re.DOTALL)
STATIC_TAG = re.compile(r"""<script type="module" src="\{% static '([^']+)' %\}">""")
JAVASCRIPT = {"text/javascript", "application/javascript"}


def test_modules_resolve_and_are_served_after_collectstatic(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", interactive=False, verbosity=0)
    root = settings.STATIC_ROOT
    modules = sorted(root.glob("vidsort/**/*.js"))
    names = {m.relative_to(root).as_posix() for m in modules}
    pages = ("player.html", "gallery.html", "team.html")
    templates = [REPO_ROOT / "templates/labeling" / n for n in pages]
    entries = {entry for t in templates for entry in STATIC_TAG.findall(t.read_text())}
    assert entries == {"vidsort/player/main.js", "vidsort/gallery.js", "vidsort/teampage.js"}
    assert entries | {"vidsort/toast.js", "vidsort/http.js"} <= names

    for module in modules:
        for target in IMPORT.findall(module.read_text()):
            assert target.startswith(("./", "../")), (module, target)
            assert (module.parent / target).resolve().is_file(), (module, target)

    served = Client()  # a new handler: WhiteNoise indexes the STATIC_ROOT filled above
    for name in sorted(names):
        response = served.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response["Content-Type"].split(";")[0] in JAVASCRIPT, (
            name,
            response["Content-Type"],
        )
