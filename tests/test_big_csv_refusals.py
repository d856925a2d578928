"""A big CSV file that the columnar reader gives up on is refused while streaming
(``contest/csv_faults``): in the reference reader's words and order, naming the line and the
column, without holding the file's text, and nothing is stored (issue 13)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlcontest.contest import csv_faults
from mlcontest.contest import dataset_sources as sources
from mlcontest.contest.errors import InvalidInput
from mlcontest.contest.models import Dataset

FILLER = "".join(f"{i},{i},{'ab'[i % 2]}\n" for i in range(40))
HEADER = "x,y,label\n"

BAD: dict[str, tuple[bytes, dict[str, object]]] = {
    "a word in a numeric column": ((HEADER + "1,2,a\n3,oops,b\n" + FILLER).encode(), {}),
    "a decimal comma": ((HEADER + '1,2,a\n3,"4,5",b\n' + FILLER).encode(), {}),
    "a ragged row": ((HEADER + FILLER + "3,b\n" + FILLER).encode(), {}),
    "infinity": ((HEADER + FILLER + "inf,4,a\n").encode(), {}),
    "nan written out": ((HEADER + FILLER + "nan,4,a\n").encode(), {}),
    "an empty label": ((HEADER + FILLER + "5,4,\n").encode(), {}),
    "the second column fails first in column order": (
        (HEADER + "1,x,a\n" + FILLER + "y,2,b\n").encode(),
        {},
    ),
    "blank lines before the header and a ragged row": (
        ("\n\n" + HEADER + "1,2,a\n\n3\n").encode(),
        {},
    ),
    "a quoted line break before a bad cell": (
        (
            'x,note,label\n1,"two\nlines",a\n2,"n",b\nz,"n",a\n' + FILLER.replace(",", ",n,", 1)
        ).encode(),
        {},
    ),
    "not UTF-8": (("x,name,label\n1,Gr\u00f6\u00dfe,a\n" + FILLER).encode("latin-1"), {}),
    "not UTF-8 after a byte-order mark": (
        b"\xef\xbb\xbf" + ("x,name,label\n" + FILLER + "1,Gr\u00f6\u00dfe,a\n").encode("latin-1"),
        {},
    ),
    "an empty file": (b"\n\n", {}),
    "a header only": (HEADER.encode(), {}),
    "a header only, no such label column": (HEADER.encode(), {"label_column": "class"}),
    "no such label column": ((HEADER + FILLER).encode(), {"label_column": "class"}),
    "a column named twice": (("x,x,label\n" + FILLER).encode(), {}),
    "an unnamed column": (("x,,label\n" + FILLER).encode(), {}),
    "no such feature": ((HEADER + FILLER).encode(), {"feature_columns": ["x", "z"]}),
    "the label as a feature": ((HEADER + FILLER).encode(), {"feature_columns": ["x", "label"]}),
    "a reserved name": (("x,id,label\n" + FILLER).encode(), {"feature_columns": ["x", "id"]}),
    "no numeric column": (
        ("name,label\n" + "".join(f"n{i},a\n" for i in range(50))).encode(),
        {},
    ),
    "an unknown split": (
        (b"x,split,label\n1,training,a\n2,tset,b\n3,test,a\n"),
        {},
    ),
    "semicolons and a word": (
        ("x;y;label\n1;2;a\n3;oops;b\n" + FILLER.replace(",", ";")).encode(),
        {},
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_streamed_refusal_is_the_reference_s(case: str) -> None:
    raw, options = BAD[case]
    label = str(options.get("label_column", "label"))
    features = options.get("feature_columns")
    with pytest.raises(InvalidInput) as reference:
        sources.from_csv(raw, label_column=label, feature_columns=features, reader="python")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as streamed:
        csv_faults.check(raw, label, "split", features)  # type: ignore[arg-type]
    assert streamed.value.message == reference.value.message
    assert streamed.value.fields == reference.value.fields


def test_a_good_file_passes_the_scan() -> None:
    raw = (
        "x,name,split,label\n"
        + "".join(
            f"{i},{'pq'[i % 2]},{('training', 'test', 'validation')[i % 3]},{'ab'[i % 2]}\n"
            for i in range(60)
        )
    ).encode()
    csv_faults.check(raw, "label", "split", None)
    csv_faults.check(raw, "label", "split", ["x", "name"])


PEAK = """
import resource, sys
from pathlib import Path
import django
django.setup()
from mlcontest.contest import csv_columnar, dataset_sources
from mlcontest.contest.errors import InvalidInput
path = Path(sys.argv[1])
# pyarrow's try first, alone: it gives up on the file (about what a good file of this size
# costs to import); what the refusal adds after it is measured, without pyarrow's own noise.
assert csv_columnar.read(path, "label", "split", None) is None
csv_columnar.read = lambda *args: None
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    dataset_sources.from_csv(path)
except InvalidInput as error:
    print(error.message)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


@pytest.mark.django_db
def test_a_big_bad_file_is_refused_without_holding_it(tmp_path: Path) -> None:
    """A 50 MB file whose bad cell is near its end: the refusal names the line and the column,
    the process's peak memory grows by far less than the file once the columnar reader has
    given up (the line-by-line reader grew it by GBs), and nothing is stored."""
    row = "12.345,-0.125,3.5,100.25,7,0.001,42.75,-8.5,a\n"
    path = tmp_path / "big.csv"
    rows = 50 * 1024 * 1024 // len(row)
    with path.open("w", encoding="ascii") as out:
        out.write(",".join(f"f{i}" for i in range(8)) + ",label\n")
        out.write(row * (rows - 10))
        out.write("12.345,-0.125,3.5,100.25,7,oops,42.75,-8.5,b\n")
        out.write(row * 9)
    size = path.stat().st_size
    done = subprocess.run(
        [sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True, check=True
    )
    message, growth = done.stdout.strip().splitlines()[-2:]
    assert message == f"Line {rows - 10 + 2}, column 'f5': 'oops' is not a number."
    assert int(growth) < size / 8, (growth, size)
    assert not Dataset.objects.exists()
