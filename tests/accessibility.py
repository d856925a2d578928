"""axe-core in the browser tests: run it on the page a Browser shows, and say what it found.

axe-core comes from the PyPI package selenium-axe-python (a dev dependency in pyproject.toml,
MPL-2.0, bundling axe-core 4.9): nothing is downloaded at test time and no copy of axe lives in
this repository. Only the script file is used; the run and the report are ours, so that the
options are JSON (the package's own ``run`` formats them with Python's repr).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser import Browser

# The impacts a page may not have: axe's "serious" and "critical" (WCAG A/AA failures such as
# a missing label, too little contrast, a table header without cells, a link without a name).
BLOCKING = ("serious", "critical")

RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, arguments[0])
  .then((results) => done({violations: results.violations, version: axe.version}))
  .catch((error) => done({error: String(error)}));
"""
# The rules of WCAG 2.x A and AA, and axe's best practices (landmarks, headings, regions).
OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


def axe_script() -> Path:
    """The axe.min.js that selenium-axe-python ships."""
    try:
        import selenium_axe_python
    except ImportError as error:  # a venv from before the dependency: say how to get it
        raise RuntimeError("selenium-axe-python is missing: pip install -e '.[dev]'") from error

    return Path(selenium_axe_python.__file__).parent / "axe-core" / "axe.min.js"


def run_axe(window: Browser) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (all impacts)."""
    driver = window.driver
    if not driver.execute_script("return typeof window.axe === 'object';"):
        driver.execute_script(axe_script().read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    answer = driver.execute_async_script(RUN_AXE, OPTIONS)
    if "error" in answer:
        raise RuntimeError(f"axe failed: {answer['error']}")
    return list(answer["violations"])


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v.get("impact") in BLOCKING]


def report(page: str, violations: list[dict[str, Any]]) -> str:
    """One readable paragraph per rule: its impact, what it checks, and each element with
    axe's explanation of why it fails."""
    lines = []
    for violation in violations:
        lines.append(
            f"{page}: [{violation['impact']}] {violation['id']}: {violation['help']}"
            f" ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:8]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    {target}")
            lines.append(f"      {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " / ")
            if summary:
                lines.append(f"      {summary[:400]}")
        if len(violation["nodes"]) > 8:
            lines.append(f"    ... and {len(violation['nodes']) - 8} more")
    return "\n".join(lines)
