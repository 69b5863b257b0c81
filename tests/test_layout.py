"""The layering the design promises, checked on the source: lower packages never import
higher ones, the library never reads flags, and tools/ are shims without path edits."""

import ast
import glob
import os

from tests.tiny import REPO

LOWER = ("data", "models", "distill", "training")
HIGHER = ("nlu_tf.export", "nlu_tf.serving", "nlu_tf.pipeline", "nlu_tf.benchmark", "nlu_cli")


def _imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def _library_files(*packages):
    for package in packages:
        yield from glob.glob(os.path.join(REPO, "nlu_tf", package, "**", "*.py"), recursive=True)


def test_lower_packages_never_import_export_serving_or_above():
    offenders = [(os.path.relpath(path, REPO), name)
                 for path in _library_files(*LOWER) for name in _imports(path)
                 if name.startswith(HIGHER)]
    assert offenders == []


def test_library_reads_no_flags():
    offenders = [(os.path.relpath(path, REPO), name)
                 for path in glob.glob(os.path.join(REPO, "nlu_tf", "**", "*.py"), recursive=True)
                 for name in _imports(path) if name.startswith(("absl.flags", "absl.app", "nlu_cli"))
                 or name == "absl"]
    assert offenders == []


def test_tools_are_shims_of_console_scripts_without_path_edits():
    tools = sorted(glob.glob(os.path.join(REPO, "tools", "*.py")))
    assert tools
    with open(os.path.join(REPO, "setup.cfg"), encoding="utf-8") as f:
        setup = f.read()
    for path in tools:
        source = open(path, encoding="utf-8").read()
        name = os.path.basename(path)[:-3]
        assert "sys.path" not in source, path
        assert _imports(path) == [f"nlu_cli.{name}"], path
        assert f"nlu-{name.replace('_', '-')} = nlu_cli.{name}:entry" in setup, name
