"""The package's import graph, read from the sources (function-level imports included):
no cycles, and the layers point one way, ``ops`` <- ``models`` <- ``engine``/``utils``
<- ``sweep`` <- ``tools`` (outside the package)."""
import ast
import os
import os.path as osp
from typing import Dict, Set

import mmacon

ROOT = osp.dirname(mmacon.__file__)
# a room -> the rooms of mmacon it may import (itself always)
ALLOWED = {
    'ops': set(),
    'models': {'ops'},
    'engine': {'ops', 'models'},
    'utils': {'ops', 'models'},
    'tiny_data': set(),
    'sweep': {'utils'},  # the configs x seeds scheduler: reads the runs' logged setups
    'version': set(),
}


def _module_name(path: str) -> str:
    rel = osp.relpath(path, osp.dirname(ROOT))[:-3].replace(os.sep, '.')
    return rel[:-len('.__init__')] if rel.endswith('.__init__') else rel


def import_graph() -> Dict[str, Set[str]]:
    """module -> the mmacon modules it imports (a name imported from a package counts as
    its submodule where one exists)."""
    modules = {}
    for dirpath, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith('.py'):
                path = osp.join(dirpath, name)
                modules[_module_name(path)] = path
    graph = {}
    for module, path in modules.items():
        is_package = path.endswith('__init__.py')
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split('.')
                    base = base[:len(base) - node.level + (1 if is_package else 0)]
                    prefix = '.'.join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module
                targets = [f'{prefix}.{a.name}' if f'{prefix}.{a.name}' in modules else prefix
                           for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition('.')[0]
                if target and target != module and target.startswith('mmacon'):
                    edges.add(target)
        graph[module] = edges
    return graph


def _cycles(graph):
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_imports():
    graph = import_graph()
    assert 'mmacon.models.activations.acon' in graph['mmacon.models.activations']
    assert any(t.startswith('mmacon.ops') for t in graph['mmacon.models.activations.acon'])


def test_no_import_cycles():
    assert _cycles(import_graph()) == []


def test_layers_point_one_way():
    bad = []
    for module, targets in import_graph().items():
        room = module.split('.')[1] if module.count('.') else None
        if room not in ALLOWED:
            continue
        for target in targets:
            other = target.split('.')[1] if target.count('.') else 'mmacon'
            if other != room and other not in ALLOWED[room]:
                bad.append(f'{module} -> {target}')
    assert bad == []
