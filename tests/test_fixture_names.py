"""Fixture names say what they are, once (issue 12 point 6).

Reads every tests/**/*.py with `ast` and lists where each fixture is defined and which tests can
see it: a conftest.py's fixtures reach its whole directory, a module's its own tests (and those of
any module that imports it), a class's its own methods. Two definitions of one name whose reaches
overlap make a test's meaning depend on where it sits (one silently shadows the other); the names
`shop`, `book` and `ctx` meant a different thing in almost every file and must not come back.
"""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
BANNED = {"shop", "book", "ctx"}


def _is_fixture_call(node) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return (isinstance(target, ast.Attribute) and target.attr == "fixture") or (
        isinstance(target, ast.Name) and target.id == "fixture")


def _name_kwarg(node):
    if isinstance(node, ast.Call):
        for keyword in node.keywords:
            if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                return keyword.value.value
    return None


def _fixtures_in(body, where):
    """(fixture name, function name, line, class) for each fixture defined directly in `body`."""
    found = []
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                if _is_fixture_call(decorator):
                    found.append((_name_kwarg(decorator) or node.name, node.name, node.lineno, where))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and _is_fixture_call(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.append((_name_kwarg(node.value) or target.id, target.id, node.lineno, where))
        elif isinstance(node, ast.ClassDef) and where is None:
            found.extend(_fixtures_in(node.body, node.name))
    return found


def _modules():
    return {path: ast.parse(path.read_text(), filename=str(path)) for path in sorted(TESTS.rglob("*.py"))}


def fixture_definitions():
    """[(name, path, class or None, line)] for every fixture in reach of some test, with the reach
    given by where it is defined or imported."""
    modules = _modules()
    by_module = {path: _fixtures_in(tree.body, None) for path, tree in modules.items()}
    definitions = []
    for path, tree in modules.items():
        definitions += [(name, path, where, line) for name, _, line, where in by_module[path]]
        for node in tree.body:  # a module that imports a fixture function puts it in its own reach
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tests."):
                source = TESTS.parent / (node.module.replace(".", "/") + ".py")
                exported = {function: name for name, function, _, where in by_module.get(source, ())
                            if where is None}
                definitions += [(exported[alias.name], path, None, node.lineno)
                                for alias in node.names if alias.name in exported]
    return definitions


def _reach(path: Path, where):
    """A conftest reaches its directory; anything else its module (and class)."""
    if path.name == "conftest.py":
        return (path.parent.parts, None, None)
    return (path.parent.parts, path.name, where)


def _overlap(a, b) -> bool:
    (dir_a, file_a, class_a), (dir_b, file_b, class_b) = a, b
    def under(inner, outer):
        return inner[:len(outer)] == outer

    if file_a is None and file_b is None:  # two conftests: one directory holds the other
        return under(dir_a, dir_b) or under(dir_b, dir_a)
    if file_a is None:  # a conftest reaches every module at or under its directory
        return under(dir_b, dir_a)
    if file_b is None:
        return under(dir_a, dir_b)
    return dir_a == dir_b and file_a == file_b and (class_a is None or class_b is None or class_a == class_b)


def clashes(definitions):
    out = []
    for i, (name, path, where, line) in enumerate(definitions):
        for other_name, other_path, other_where, other_line in definitions[i + 1:]:
            if name == other_name and _overlap(_reach(path, where), _reach(other_path, other_where)):
                out.append(f"{name}: {path.relative_to(TESTS)}:{line} and {other_path.relative_to(TESTS)}:{other_line}")
    return out


def test_no_fixture_name_is_defined_twice_where_both_could_apply():
    assert clashes(fixture_definitions()) == []


def test_the_ambiguous_names_shop_book_and_ctx_do_not_come_back():
    banned = [f"{name}: {path.relative_to(TESTS)}:{line}" for name, path, _, line in fixture_definitions()
              if name in BANNED]
    assert banned == []


def test_the_reach_rules_catch_shadowing_and_allow_siblings():
    """The checker itself: a conftest's fixture shadowed below it, a module fixture shadowed by a
    class, and one name defined twice in a module clash; sibling modules and sibling classes don't."""
    root, sub = TESTS / "conftest.py", TESTS / "a" / "conftest.py"
    one, two = TESTS / "a" / "test_one.py", TESTS / "a" / "test_two.py"
    elsewhere = TESTS / "b" / "test_three.py"
    assert clashes([("x", root, None, 1), ("x", one, None, 1)])
    assert clashes([("x", sub, None, 1), ("x", root, None, 1)])
    assert clashes([("x", one, "TestA", 1), ("x", one, None, 2)])
    assert clashes([("x", one, None, 1), ("x", one, None, 2)])
    assert clashes([("x", sub, None, 1), ("x", one, "TestA", 1)])
    assert not clashes([("x", one, None, 1), ("x", two, None, 1)])
    assert not clashes([("x", one, "TestA", 1), ("x", one, "TestB", 1)])
    assert not clashes([("x", sub, None, 1), ("x", elsewhere, None, 1)])
    assert not clashes([("x", one, None, 1), ("y", one, None, 1)])


def test_the_shared_world_is_two_organizations_with_their_cast(world):
    """tests/conftest.py's `world`: A has an owner, a finance member and a viewer; B's only member,
    its owner, is the outsider (no member of A)."""
    from accounts.models import Membership
    from ledger_site.tenancy import tenant_context

    with tenant_context(world.org):
        a = {m.user_id: m.role for m in Membership.objects.filter(organization=world.org)}
    with tenant_context(world.other_org):
        b = {m.user_id: m.role for m in Membership.objects.filter(organization=world.other_org)}
    assert a == {world.owner.pk: "owner", world.finance.pk: "finance", world.viewer.pk: "viewer"}
    assert b == {world.outsider.pk: "owner"}
    assert world.org != world.other_org and world.user("anonymous") is None
