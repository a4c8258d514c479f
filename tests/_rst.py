"""Helpers of tests that run the code of the documentation pages."""

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def python_blocks(path):
    """The ``.. code-block:: python`` blocks of an rst file, dedented."""
    blocks, lines = [], Path(path).read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == ".. code-block:: python":
            body = []
            for nxt in lines[i + 2 :]:
                if nxt and not nxt.startswith("    "):
                    break
                body.append(nxt[4:])
            blocks.append("\n".join(body))
    return blocks
