"""DESIGN.md's layering, checked on the real modules (import-linter checks it statically too)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCK = textwrap.dedent(
    """
    import importlib.abc, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in {'PySide6', 'shiboken6', 'pyqtgraph', 'torch', 'torchvision'}:
                raise ImportError('blocked by the layering test: ' + name)
            return None
    sys.meta_path.insert(0, Block())
    """
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_non_ui_packages_import_without_qt_or_torch() -> None:
    r = _run(
        """
        import pkgutil, importlib, lightable
        skipped = []
        for m in pkgutil.walk_packages(lightable.__path__, 'lightable.'):
            if m.name.startswith(('lightable.ui', 'lightable.store.migrations', 'lightable.__main__')):
                continue
            importlib.import_module(m.name)
        print('ok')
        """
    )
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


def test_help_imports_neither_qt_nor_torch() -> None:
    r = _run(
        """
        import sys
        from lightable.cli import main
        try:
            main(['--help'])
        except SystemExit:
            pass
        for cmd in ('init', 'add-images', 'info', 'import', 'export', 'prelabel', 'demo'):
            try:
                main([cmd, '--help'])
            except SystemExit:
                pass
        bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'torch', 'pyqtgraph')]
        print('loaded:', bad)
        assert not bad, bad
        """
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "usage: lightable" in r.stdout
