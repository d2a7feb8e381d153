"""Structure of the hardware sources: every function in rtl/ (nested ones included) fits
on a screen, so each block stays one job."""
import ast
from pathlib import Path

MAX_LINES = 120
RTL = Path(__file__).resolve().parent.parent / "rtl"


def long_functions(path, limit=MAX_LINES):
    """(qualified name, line, length) of every (async) function in ``path`` longer than ``limit``."""
    out = []

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}."
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = child.end_lineno - child.lineno + 1
                if length > limit:
                    out.append((name[:-1], child.lineno, length))
            walk(child, name)

    walk(ast.parse(path.read_text(), filename=str(path)), "")
    return out


def test_rtl_functions_at_most_120_lines():
    files = sorted(RTL.glob("*.py"))
    assert len(files) > 10
    offenders = [f"{p.name}:{line} {name} ({n} lines)"
                 for p in files for name, line, n in long_functions(p)]
    assert not offenders, f"functions longer than {MAX_LINES} lines: " + ", ".join(offenders)


def test_checker_sees_nested_functions(tmp_path):
    body = "\n".join(f"        x{i} = {i}" for i in range(MAX_LINES))
    src = tmp_path / "m.py"
    src.write_text(f"def outer():\n    def inner():\n{body}\n    return inner\n")
    names = [name for name, _, _ in long_functions(src)]
    assert names == ["outer", "outer.inner"]
