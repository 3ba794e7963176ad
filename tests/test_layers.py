"""The shape of the code, read from its source: who commits, which way imports point, no cycles."""

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "listserver"

# --- one owner of each unit of work ------------------------------------------------------------

# A unit of work starts in a request (web), a command (cli), an actor or a periodic job (the
# plumbing that runs them, and each domain's jobs.py): that is where it is committed or rolled
# back. Domain functions flush, so several of them can make one unit of work.
OWNERS = ("listserver/web/", "listserver/cli/", "listserver/tasks.py", "listserver/schedule.py")
OWNER_MODULES = ("jobs.py",)
OWN_TRANSACTION = "# Own transaction:"  # on the line, with the reason the domain commits itself there


def is_owner(relative: str) -> bool:
    return relative.startswith(OWNERS) or relative.rpartition("/")[2] in OWNER_MODULES


def misplaced_transactions(relative: str, source: str) -> list[str]:
    """`file:line` of each .commit() or .rollback() outside the owners that is not marked as its own."""
    if is_owner(relative):
        return []
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("commit", "rollback") and not node.args):
            if not any(OWN_TRANSACTION in line for line in lines[node.lineno - 1:node.end_lineno]):
                found.append(f"{relative}:{node.lineno}: .{node.func.attr}()")
    return found


def sources() -> Iterator[tuple[str, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE.parent).as_posix(), path.read_text(encoding="utf-8")


def test_only_the_view_command_actor_or_job_that_started_the_work_commits_it():
    found = [where for relative, source in sources() for where in misplaced_transactions(relative, source)]
    assert not found, (
        "Domain code flushes; the view, command, actor or job that started the work commits or rolls back. "
        f"Where something must commit on its own, say why on that line: `{OWN_TRANSACTION} ...`.\n"
        + "\n".join(found))


def test_the_check_names_a_commit_in_domain_code_and_passes_marked_and_owner_ones():
    domain = (
        "def save(session):\n"
        "    session.add(1)\n"
        "    session.commit()\n"
        "\n"
        "def claim(session):\n"
        "    session.commit()  # Own transaction: others must see the claim\n"
        "    session.rollback()\n"
    )
    assert misplaced_transactions("listserver/subscriber/preferences.py", domain) == [
        "listserver/subscriber/preferences.py:3: .commit()",
        "listserver/subscriber/preferences.py:7: .rollback()",
    ]
    assert misplaced_transactions("listserver/web/public/subscriber.py", domain) == []
    assert misplaced_transactions("listserver/mail/jobs.py", domain) == []
    assert misplaced_transactions("listserver/capture/signup.py", "connection.commit(force)\n") == []


# --- imports point downward ---------------------------------------------------------------------

# Lowest first. Plumbing modules may import one another; a package imports only from lower ranks
# (and itself): not from one beside it, nor above it. The app factory (listserver/__init__) is on top.
PLUMBING = {"settings", "db", "extensions", "migrate", "tokens", "errors", "languages", "memo", "breaker",
            "tasks", "schedule", "services", "inputs"}
RANKS = [PLUMBING, {"models"}, {"forms"}, {"contacts", "accounts"}, {"bounces"}, {"mail"},
         {"capture", "subscriber", "audience", "hygiene"}, {"web", "cli"}]
FACTORY = "listserver"
# Imports inside the functions of the factory run when the app is made, once every layer is
# loaded: they assemble the app from its layers (blueprints, services, each domain's jobs).
ASSEMBLY = {FACTORY}
# Imports against the order, each with its reason. An entry no longer needed fails the test: remove it.
ALLOWED = {
    ("listserver.cli", FACTORY): "the `listserver` command makes the app it runs in (create_app)",
    ("listserver.migrate", FACTORY): "resource_dir finds migrations/ as the factory finds templates/",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _import_nodes(node: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(node):
        if _type_checking(child):  # for annotations only: never runs
            for other in child.orelse:
                yield from _import_nodes(other, in_function)
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, in_function
        yield from _import_nodes(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))


def imports_of(name: str) -> Iterator[tuple[str, int, bool]]:
    """The listserver modules `name` imports: (module, line, whether inside a function)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node, in_function in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        for target in targets:
            if target == FACTORY or target.startswith(FACTORY + "."):
                yield target, node.lineno, in_function


def unit(name: str) -> str:
    """The package (or plumbing module) a module belongs to; the factory for listserver itself."""
    return name.split(".")[1] if name != FACTORY else FACTORY


def rank(name: str) -> int:
    if name == FACTORY:
        return len(RANKS)
    for level, units in enumerate(RANKS):
        if unit(name) in units:
            return level
    raise AssertionError(f"{name} is in no rank: give its package a place in RANKS (tests/test_layers.py)")


def test_no_package_imports_one_beside_or_above_it():
    wrong, used = [], set()
    for name in sorted(MODULES):
        for target, line, in_function in imports_of(name):
            if unit(target) == unit(name) or (in_function and name in ASSEMBLY):
                continue
            if rank(target) < rank(name) or rank(target) == rank(name) == 0:
                continue
            if (name, target) in ALLOWED:
                used.add((name, target))
                continue
            wrong.append(f"{MODULES[name].relative_to(PACKAGE.parent)}:{line}: {name} imports {target}")
    assert not wrong, "Imports point downward (tests/test_layers.py, RANKS):\n" + "\n".join(wrong)
    assert used == set(ALLOWED), f"no longer imported, remove from ALLOWED: {set(ALLOWED) - used}"


def test_no_import_cycles():
    graph = {name: {target for target, _, _ in imports_of(name) if target != name} for name in MODULES}
    cycles, done, path = [], set(), []

    def visit(name: str) -> None:
        if name in path:
            cycles.append(" -> ".join(path[path.index(name):] + [name]))
            return
        if name in done:
            return
        path.append(name)
        for target in sorted(graph.get(name, ())):
            visit(target)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)
    assert not cycles, "Import cycles:\n" + "\n".join(cycles)
