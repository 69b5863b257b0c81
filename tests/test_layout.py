"""The layering the design promises, checked on the source: lower packages never import
higher ones, the library never reads flags, and tools/ are shims without path edits.

The packages of nlu_tf, lowest first; a package imports only packages of a lower rank
(imports inside functions count as much as those at the top of a module):

    data          datasets, labels, WordPiece                          rank 0
    checkpoints   Hugging Face files as numpy: no Keras, no models      rank 1
    models        the Keras layers: no Hugging Face names               rank 1
    model_io      models to and from files (the Hugging Face key map)   rank 2
    surgery       students made from weights                            rank 3
    distill       losses, objectives, the one train_step                rank 4
    training      a training stage                                      rank 5
    augment, pretraining, export                                        rank 6
    serving       any artefact loaded, evaluated, predicted with        rank 7
    benchmark                                                           rank 8
    pipeline                                                            rank 9

The modules at the top of nlu_tf (errors.py, io_utils.py, decoding.py, ...) import no
package but `data`. checkpoints and models share a rank: neither imports the other. No
module imports, through others, a module that imports it (no import cycle, even one hidden
inside a function), and so neither does a package.
"""

import ast
import collections
import glob
import os

from tests.tiny import REPO

RANKS = {"data": 0, "checkpoints": 1, "models": 1, "model_io": 2, "surgery": 3, "distill": 4,
         "training": 5, "augment": 6, "pretraining": 6, "export": 6, "serving": 7,
         "benchmark": 8, "pipeline": 9}
LOWER = ("data", "checkpoints", "models", "model_io", "surgery", "distill", "training")
HIGHER = ("nlu_tf.export", "nlu_tf.serving", "nlu_tf.pipeline", "nlu_tf.benchmark", "nlu_cli")
# Hugging Face's spellings (config.json keys that differ from ours, state dict names):
# models/ knows none of them.
HF_SPELLINGS = ("num_hidden_layers", "num_attention_heads", "hidden_dropout_prob",
                "attention_probs_dropout_prob", "hidden_act", "LayerNorm", "cls.predictions",
                "encoder.layer", "word_embeddings", "bert.")
PACKAGE = os.path.join(REPO, "nlu_tf")


def _imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            if node.module == "nlu_tf":  # from nlu_tf import models
                names += [f"nlu_tf.{alias.name}" for alias in node.names]
    return names


def _library_files(*packages):
    for package in packages:
        yield from glob.glob(os.path.join(PACKAGE, package, "**", "*.py"), recursive=True)


def _node(path):
    """The package (or top-level module) of nlu_tf that `path` belongs to."""
    first = os.path.relpath(path, PACKAGE).split(os.sep)[0]
    return first[:-3] if first.endswith(".py") else first


def _import_graph():
    """{package or top-level module: {the nlu_tf packages and modules it imports}}, from
    every import of its sources, at module level and inside functions."""
    nodes = {_node(path) for path in glob.glob(os.path.join(PACKAGE, "*"))
             if os.path.isdir(path) or path.endswith(".py")} - {"__init__", "__pycache__"}
    graph = collections.defaultdict(set)
    for path in glob.glob(os.path.join(PACKAGE, "**", "*.py"), recursive=True):
        source = _node(path)
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "nlu_tf" and len(parts) > 1 and parts[1] in nodes \
                    and parts[1] != source:
                graph[source].add(parts[1])
    return graph


def _module_graph():
    """{module: {the nlu_tf modules it imports}}, every import counted (as `_import_graph`)."""
    modules = {}
    for path in glob.glob(os.path.join(PACKAGE, "**", "*.py"), recursive=True):
        name = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
        modules[name[:-len(".__init__")] if name.endswith(".__init__") else name] = path
    graph = collections.defaultdict(set)
    for name, path in modules.items():
        tree = ast.parse(open(path, encoding="utf-8").read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in
                           modules else node.module for alias in node.names]
            else:
                continue
            graph[name].update(target for target in targets
                               if target in modules and target != name
                               and not modules[target].endswith("__init__.py"))
    return graph


def _cycle(graph):
    """A list of nodes that import each other round in a circle, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target, path + [target])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [node])
            if found:
                return found
    return None


def test_lower_packages_never_import_export_serving_or_above():
    offenders = [(os.path.relpath(path, REPO), name)
                 for path in _library_files(*LOWER) for name in _imports(path)
                 if name.startswith(HIGHER)]
    assert offenders == []


def test_package_import_graph_has_no_cycle():
    graph = _import_graph()
    assert graph["model_io"] >= {"checkpoints", "models"}  # the graph sees imports
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_module_import_graph_has_no_cycle():
    graph = _module_graph()
    assert "nlu_tf.checkpoints.hf_reader" in graph["nlu_tf.model_io.hf_encoder"]
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_packages_import_only_lower_ranks():
    graph = _import_graph()
    assert set(RANKS) == {node for node in graph
                          if os.path.isdir(os.path.join(PACKAGE, node))}
    upward = sorted((source, target) for source, targets in graph.items()
                    for target in targets
                    if source in RANKS and target in RANKS and RANKS[target] >= RANKS[source])
    assert upward == []
    top_level = sorted((source, target) for source, targets in graph.items()
                       if source not in RANKS for target in targets
                       if target in RANKS and target != "data")
    assert top_level == []


def test_checkpoints_import_neither_keras_nor_models():
    offenders = [(os.path.relpath(path, REPO), name)
                 for path in _library_files("checkpoints") for name in _imports(path)
                 if name.split(".")[0] in ("keras", "tensorflow", "tf_keras")
                 or (name.startswith("nlu_tf.") and name.split(".")[1] in RANKS
                     and name.split(".")[1] != "checkpoints")]
    assert offenders == []


def test_models_know_no_hugging_face_names():
    offenders = []
    for path in _library_files("models"):
        for name in _imports(path):
            if name.startswith(("nlu_tf.checkpoints", "nlu_tf.model_io", "nlu_tf.surgery")):
                offenders.append((os.path.relpath(path, REPO), name))
        tree = ast.parse(open(path, encoding="utf-8").read(), path)
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        offenders += [(os.path.relpath(path, REPO), node.value) for node in ast.walk(tree)
                      if isinstance(node, ast.Constant) and isinstance(node.value, str)
                      and id(node) not in docstrings
                      and any(spelling in node.value for spelling in HF_SPELLINGS)]
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
