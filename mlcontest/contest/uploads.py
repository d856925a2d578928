"""Bring your own predictions: a group trains anywhere and uploads a CSV of ``id, label``.

A round allows it when its organizer ticks ``prediction_uploads``. The student downloads the
training points with their labels and the test and validation points without
(``contest.training_data``), predicts a label for each of the latter, and uploads them. The
server scores the file as it scores a worker's labels and stores it as a finished job of the
group: the same quotas (the job quota; an upload never waits, so the queued quota does not
apply), the same hidden validation score, the same reveal, the same leaderboard. No worker is
involved.

Fair play (docs/rules.md): everything a refusal says is known to the student already (the ids
of the downloaded file, the dataset's classes, the file itself), never anything about a hidden
label; the answer is a job, which shows what any job shows. A refused file stores nothing and
costs no quota.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mlcontest.algorithms import all_scores
from mlcontest.contest import queue
from mlcontest.contest.datasets import load_labels
from mlcontest.contest.errors import Conflict, InvalidInput
from mlcontest.contest.groups import group_of
from mlcontest.contest.inputs import bad_text
from mlcontest.contest.models import Job, JobState, Round, User
from mlcontest.contest.permissions import require_user
from mlcontest.contest.regression import regression_labels
from mlcontest.contest.rounds import refresh_schedule, renew_boards, task_of

# The job's algorithm: not in the registry, so no worker could ever be asked to run it (and a
# worker never sees the job: it is stored finished, never queued).
UPLOADED = "uploaded"
HIDDEN_SPLITS = ("test", "validation")
# A row is an id (at most 6 digits), a label (at most 100 characters: Point.label) and
# separators: bound the file by what a correct one can hold before reading a byte of it.
BYTES_PER_ROW = 128
SLACK_BYTES = 4096
MAX_SHOWN_PROBLEMS = 5
MAX_SHOWN_IDS = 10


@dataclass(frozen=True)
class Predictions:
    """A checked file: a label per point of each hidden split, in the dataset's order."""

    labels: dict[str, list[str]]
    rows: int
    sha256: str


def max_bytes(points: int) -> int:
    return points * BYTES_PER_ROW + SLACK_BYTES


def _refuse(problems: list[str]) -> InvalidInput:
    shown = problems[:MAX_SHOWN_PROBLEMS]
    more = len(problems) - len(shown)
    text = " ".join(shown)
    if more:
        text += " " + ngettext("And %(n)s more problem.", "And %(n)s more problems.", more) % {
            "n": more
        }
    return InvalidInput(
        _("The predictions were not accepted: %(problems)s") % {"problems": text},
        fields={"file": text},
    )


def _decode(content: bytes) -> str:
    """The file as text: UTF-8, with or without the byte order mark Excel writes."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = content[: error.start].count(b"\n") + 1
        raise _refuse(
            [
                _(
                    "Row %(row)s is not UTF-8 text (byte %(byte)s): save the file as "
                    "\u201cCSV UTF-8\u201d."
                )
                % {"row": row, "byte": error.start + 1}
            ]
        ) from None
    if bad_text(text):
        raise _refuse([_("The file holds a NUL character: it is not a CSV text file.")])
    return text


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(row number as a spreadsheet counts it, fields) of each non-empty row. A German Excel
    separates fields by semicolons: the header's separator decides."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                yield reader.line_num, [field.strip() for field in fields]
    except csv.Error:
        raise _refuse(
            [_("Row %(row)s is not valid CSV (a quote is not closed).") % {"row": reader.line_num}]
        ) from None


def _whole_number(text: str) -> int | None:
    """An id as a student's tool may write it: ``12``, or ``12.0`` from a float column."""
    if text.isascii() and text.isdigit() and len(text) <= 19:
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() and 0 <= number < 2**63 else None


class _Labels:
    """What a label may be in the round's task; returns the label as stored, or None."""

    def __init__(self, task: str, known: list[str]) -> None:
        self.task = task
        self.known = set(known)
        self.listing = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")

    def read(self, text: str) -> str | None:
        if self.task == "regression":  # a number, stored as the result path stores it
            try:
                return regression_labels([text])[0]
            except ValueError:
                return None
        if self.task == "classification":
            if text in self.known:
                return text
            # 1.0 for the class 1: a float column of pandas or numpy.
            number = _whole_number(text)
            return str(number) if number is not None and str(number) in self.known else None
        number = _whole_number(text.lstrip("-")) if text else None
        if number is None:
            return None
        return f"-{number}" if text.startswith("-") and number else str(number)

    def problem(self, row: int, point_id: int, text: str) -> str:
        if self.task == "regression":
            return _("Row %(row)s: %(label)s for id %(id)s is not a number.") % {
                "row": row,
                "label": repr(text[:40]),
                "id": point_id,
            }
        if self.task == "classification":
            return _(
                "Row %(row)s: %(label)s for id %(id)s is not a class of this dataset "
                "(the classes: %(classes)s)."
            ) % {"row": row, "label": repr(text[:40]), "id": point_id, "classes": self.listing}
        return _("Row %(row)s: %(label)s for id %(id)s is not a cluster number.") % {
            "row": row,
            "label": repr(text[:40]),
            "id": point_id,
        }


def read_predictions(round_: Round, content: bytes) -> Predictions:
    """Check an uploaded file against the round's dataset; every refusal names its rows."""
    # The labels alone: the features of a big dataset would be gigabytes as Python floats.
    loaded = load_labels(round_.dataset)
    # id -> (split, index within the split): the order the stored label lists keep. A point's
    # id is its position in that order.
    wanted: dict[int, tuple[str, int]] = {}
    counters = dict.fromkeys(HIDDEN_SPLITS, 0)
    training: set[int] = set()
    for position, split in enumerate(loaded.splits):
        if split in counters:
            wanted[position] = (split, counters[split])
            counters[split] += 1
        else:
            training.add(position)
    expected = len(wanted)
    if len(content) > max_bytes(expected):
        raise _refuse(
            [
                _(
                    "The file has %(size)s bytes: predictions for the %(n)s test and validation "
                    "points fit in %(most)s."
                )
                % {"size": len(content), "n": expected, "most": max_bytes(expected)}
            ]
        )
    labels = _Labels(task_of(round_), list(round_.dataset.class_labels))
    rows = _rows(_decode(content))
    header_row, header = next(rows, (1, []))
    columns = [name.lower() for name in header]
    if sorted(columns) != ["id", "label"]:
        raise _refuse(
            [
                _(
                    "Row %(row)s must name the two columns id and label; it has %(found)s. "
                    "(From pandas: to_csv(index=False).)"
                )
                % {"row": header_row, "found": ", ".join(map(repr, header)) or _("nothing")}
            ]
        )
    id_at, label_at = columns.index("id"), columns.index("label")
    by_split: dict[str, list[str | None]] = {split: [None] * counters[split] for split in counters}
    first_row: dict[int, int] = {}
    problems: list[str] = []
    count = 0
    for row, fields in rows:
        count += 1
        if count > expected:
            problems.append(
                _(
                    "Row %(row)s is one too many: the round has %(n)s test and validation "
                    "points, one row each."
                )
                % {"row": row, "n": expected}
            )
            break
        problem = _row_problem(row, fields, id_at, label_at, wanted, training, first_row, labels)
        if isinstance(problem, str):
            problems.append(problem)
            if len(problems) > MAX_SHOWN_PROBLEMS:
                break
            continue
        point_id, label = problem
        split, index = wanted[point_id]
        by_split[split][index] = label
    if not problems:
        missing = [point_id for point_id in wanted if point_id not in first_row]
        if missing:
            shown = ", ".join(map(str, missing[:MAX_SHOWN_IDS]))
            problems.append(
                ngettext(
                    "%(n)s test or validation point has no row: id %(ids)s.",
                    "%(n)s test and validation points have no row: ids %(ids)s%(more)s.",
                    len(missing),
                )
                % {"n": len(missing), "ids": shown, "more": ", …" if len(missing) > 10 else ""}
            )
    if problems:
        raise _refuse(problems)
    complete = {split: [str(label) for label in values] for split, values in by_split.items()}
    return Predictions(complete, count, hashlib.sha256(content).hexdigest())


def _row_problem(
    row: int,
    fields: list[str],
    id_at: int,
    label_at: int,
    wanted: dict[int, tuple[str, int]],
    training: set[int],
    first_row: dict[int, int],
    labels: _Labels,
) -> str | tuple[int, str]:
    """The row's problem, or its id and label."""
    if len(fields) != 2:
        return _("Row %(row)s has %(n)s fields: it needs an id and a label.") % {
            "row": row,
            "n": len(fields),
        }
    point_id = _whole_number(fields[id_at])
    if point_id is None:
        return _("Row %(row)s: the id %(id)s is not a whole number.") % {
            "row": row,
            "id": repr(fields[id_at][:40]),
        }
    if point_id in training:
        return _(
            "Row %(row)s: id %(id)s is a training point: predict the test and validation "
            "points only (the file test-validation.csv)."
        ) % {"row": row, "id": point_id}
    if point_id not in wanted:
        return _("Row %(row)s: there is no test or validation point with id %(id)s.") % {
            "row": row,
            "id": point_id,
        }
    if point_id in first_row:
        return _("Row %(row)s: id %(id)s again (first in row %(first)s).") % {
            "row": row,
            "id": point_id,
            "first": first_row[point_id],
        }
    first_row[point_id] = row
    if not fields[label_at]:
        return _("Row %(row)s: no label for id %(id)s.") % {"row": row, "id": point_id}
    label = labels.read(fields[label_at])
    if label is None:
        return labels.problem(row, point_id, fields[label_at])
    return point_id, label


def upload_predictions(user: User, round_: Round, content: bytes, filename: str = "") -> Job:
    """Score an uploaded file and store it as a finished job of the user's group.

    Refused, storing nothing and costing no quota: when the round does not allow uploads or is
    not open, when the user has no group or the group has used its jobs, and when the file does
    not fit the round (``read_predictions``)."""
    require_user(user)
    round_.refresh_from_db()
    refresh_schedule(round_)
    if not round_.prediction_uploads:
        raise Conflict(
            _("Round %(name)s does not take uploaded predictions.") % {"name": repr(round_.name)},
            code="uploads_not_allowed",
        )
    queue.check_open(round_)
    group = group_of(user)
    if group is None:
        raise Conflict(_("Join a group before uploading predictions."), code="no_group")
    predictions = read_predictions(round_, content)
    truth = load_labels(round_.dataset)
    task = task_of(round_)
    now = timezone.now()
    done: dict[str, Any] = {
        "state": JobState.DONE,
        "success": True,
        # One moment for both: no queue, no claim (the page shows no waiting time).
        "created_at": now,
        "finished_at": now,
        "labels_test": predictions.labels["test"],
        "labels_validation": predictions.labels["validation"],
        "message": "",
        "result_digest": predictions.sha256,
    }
    for split in HIDDEN_SPLITS:
        true_labels = truth.labels_of(split)
        scores = all_scores(task, true_labels, predictions.labels[split]) if true_labels else {}
        done[f"extra_scores_{split}"] = scores
        done[f"score_{split}"] = scores.get(round_.metric)
    params = {"file": _shown_name(filename), "rows": predictions.rows}
    with transaction.atomic():
        job = queue.submit_for_group(user, group, round_, UPLOADED, params, done=done)
        renew_boards(round_.pk)
    return job


def _shown_name(filename: str) -> str:
    """The file's base name as the job page shows it (a browser may send a whole path)."""
    name = str(filename).replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(char for char in name if char.isprintable())[:100]
    return name or "predictions.csv"


def is_uploaded(job: Job) -> bool:
    return job.algorithm == UPLOADED
