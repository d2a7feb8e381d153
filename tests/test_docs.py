"""The repository stands alone: every relative link in its Markdown resolves to a file or
folder inside it, and no text file points outside it (development-machine paths, notes
kept elsewhere) or speaks of how the work was divided. And docs/isa.md's field table and
worked example agree with vta.isa."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
# Local, generated or tool folders: not part of the repository's content (the caches
# matter only when there is no git checkout to tell what is ignored).
SKIP_DIRS = {".git", ".venv", "build", "sim_build", "__pycache__", ".pytest_cache", ".hypothesis"}


def skipped(rel):
    return any(part in SKIP_DIRS or part.endswith(".egg-info") for part in Path(rel).parts)

# Inline links and images [text](target "title"), reference definitions [id]: target,
# and HTML anchors. Code spans and fenced blocks are blanked first (they show syntax).
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, ...

# Built from pieces so that this file does not match itself.
FORBIDDEN = [
    ("a path into a folder outside the repository", re.compile(re.escape("../" + "shared/"))),
    ("an absolute path of a development machine",
     re.compile("|".join(re.escape(p) for p in ("/" + "work/", "/" + "root/", "/" + "home/")))),
    ("a reference to how the work was split", re.compile(r"\bpart" + r" [AB]\b")),
]


def repo_files():
    """Paths (relative to ROOT) of the repository's files: git's view of the checkout
    (tracked plus new, not ignored) when there is one, else every file on disk."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], capture_output=True, check=True).stdout
        names = sorted({n for n in out.decode().split("\0") if n})
    except (OSError, subprocess.CalledProcessError):
        names = sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file())
    return [Path(n) for n in names if not skipped(n) and (ROOT / n).is_file()]


def text_of(rel):
    """The file's text, or None for a binary file."""
    data = (ROOT / rel).read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def prose_lines(text):
    """(line number, line) of Markdown outside fenced code, with code spans blanked."""
    fence = None
    for no, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)[0] * len(m.group(1))
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        yield no, CODE_SPAN.sub(lambda s: " " * len(s.group(0)), line)


def links(text):
    """(line number, target) of every link in a Markdown text."""
    for no, line in prose_lines(text):
        for rx in (INLINE_LINK, REF_DEF, HREF):
            for m in rx.finditer(line):
                yield no, m.group(1).strip("<>")


def link_problem(md, target):
    """Why a link in file ``md`` does not resolve inside the repository, or None."""
    if not target or target.startswith("#") or EXTERNAL.match(target):
        return None  # same-file anchor or another scheme (http, https, mailto)
    path = unquote(target.split("#", 1)[0].split("?", 1)[0])
    if path.startswith("/"):
        return "is an absolute path (links must be relative to the file)"
    dest = ((ROOT / md).parent / path).resolve()
    if not dest.is_relative_to(ROOT):
        return f"points outside the repository ({dest})"
    if not dest.exists():
        return f"points to {dest.relative_to(ROOT)}, which does not exist"
    if skipped(dest.relative_to(ROOT)):
        return f"points into a local folder ({dest.relative_to(ROOT)}) that is not in the repository"
    return None


def test_markdown_files_found():
    mds = [p for p in repo_files() if p.suffix == ".md"]
    assert Path("README.md") in mds and Path("docs/README.md") in mds, mds


def test_markdown_links_resolve_inside_repository():
    problems = []
    for md in (p for p in repo_files() if p.suffix == ".md"):
        for no, target in links(text_of(md) or ""):
            why = link_problem(md, target)
            if why:
                problems.append(f"{md}:{no}: link '{target}' {why}")
    assert not problems, "broken Markdown links:\n" + "\n".join(problems)


def test_no_references_outside_repository():
    problems = []
    for rel in repo_files():
        text = text_of(rel)
        if text is None:
            continue
        for no, line in enumerate(text.splitlines(), 1):
            for what, rx in FORBIDDEN:
                m = rx.search(line)
                if m:
                    problems.append(f"{rel}:{no}: {what}: '{m.group(0)}' in: {line.strip()}")
    assert not problems, "files that refer outside the repository:\n" + "\n".join(problems)


def test_link_checker_catches_bad_links():
    # The checker itself: a missing file, an escape from the repository, an absolute
    # path and a bad target behind an anchor fail; anchors, URLs and code do not.
    text = "\n".join([
        "[ok](docs/isa.md#encoding) [anchor](#x) [web](https://example.org/a b) <mailto:x@y>",
        "[missing](docs/nope.md) ![img](../outside.png)",
        '<a href="/abs/path">abs</a> `[code](nope.md)`',
        "```", "[fenced](nope.md)", "```",
        "[ref]: docs/gone.md#top",
    ])
    found = [(no, t, link_problem(Path("README.md"), t)) for no, t in links(text)]
    bad = [(no, t) for no, t, why in found if why]
    assert bad == [(2, "docs/nope.md"), (2, "../outside.png"), (3, "/abs/path"), (7, "docs/gone.md#top")]
    assert ("docs/isa.md#encoding" in [t for _, t, _ in found])


# ---- docs/isa.md states what vta.isa computes ---------------------------------------------
ISA_DOC = ROOT / "docs" / "isa.md"


def test_isa_doc_default_field_positions_match_layout(default_cfg):
    layout = default_cfg.layout
    text = ISA_DOC.read_text()
    table = text.split("Positions for the default config", 1)[1].split("\nFINISH:", 1)[0]
    seen = {"mem": set(), "gemm": set(), "alu": set()}
    for line in table.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or not any(c.startswith("[") for c in cells):
            continue
        for fmt, (name, bits) in zip(seen, zip(cells[0::2], cells[1::2])):
            if not name or name.startswith("*"):
                continue  # blank cell or an unused gap
            f = layout.field(fmt, name)
            assert bits == f"[{f.lo}:{f.hi})", (fmt, name, bits)
            seen[fmt].add(name)
    for fmt, names in seen.items():
        assert names == {f.name for f in getattr(layout, fmt)}, fmt
    tail = text.split("\nFINISH:", 1)[1].split("\n\n", 1)[0]
    for fmt in ("finish", "uop"):
        for f in getattr(layout, fmt):
            if f.name not in ("pop_prev", "pop_next", "push_prev", "push_next"):
                assert f"{f.name} [{f.lo}:{f.hi})" in tail, (fmt, f.name)


def test_isa_doc_worked_example_runs():
    # The example's last line is an expression followed by "# <its value>".
    blocks = [b.split("```", 1)[0] for b in ISA_DOC.read_text().split("```python\n")[1:]]
    block = next(b for b in blocks if "encode_insn(" in b)
    *body, last = block.rstrip("\n").splitlines()
    expr, shown = body.pop().strip(), last.strip().removeprefix("# ")
    scope = {}
    exec("\n".join(body), scope)
    assert repr(eval(expr, scope)) == shown
