"""Small splits make ties: a warning for the organizer when a round's scores move in big steps.

Accuracy on n points can only be k/n, so on wine's 36 test points scores move in steps of
0.028 and four groups at 1.000 tie. The boards break a tie by the earlier job
(``contest.leaderboard``, marked ``tied``); this module tells the organizer at the round's
set-up and on its manage page, and through the API, how big the steps are so that a tie is
expected rather than a surprise. The other metrics (balanced accuracy, F1, NMI ...) move in
steps of the same order on the same points.
"""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext

from mlcontest.contest.models import Dataset, Split

# Below this many points a score moves in steps bigger than 0.01 (one point of a hundred).
SMALL_SPLIT = 100
SCORED_SPLITS = (Split.TEST.value, Split.VALIDATION.value)


def split_counts(dataset_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Points per split of each dataset (all datasets, or those of ``dataset_ids``), one query."""
    rows = Dataset.objects.all()
    if dataset_ids is not None:
        rows = rows.filter(pk__in=dataset_ids)
    return {pk: dict(sizes) for pk, sizes in rows.values_list("pk", "split_sizes")}


def warnings_for(counts: dict[str, int]) -> list[str]:
    """One sentence per scored split too small for fine scores, e.g. "36 test points: scores
    move in steps of 0.028; expect ties (the earlier job ranks first)."."""
    said = []
    for split in SCORED_SPLITS:
        size = counts.get(split, 0)
        if 0 < size < SMALL_SPLIT:
            text = (
                gettext(
                    "%(size)s test points: scores move in steps of %(step)s; expect ties (the "
                    "earlier job ranks first)."
                )
                if split == Split.TEST
                else gettext(
                    "%(size)s validation points: scores move in steps of %(step)s; expect ties "
                    "(the earlier job ranks first)."
                )
            )
            said.append(text % {"size": size, "step": number_format(round(1 / size, 3), 3)})
    return said


def dataset_warnings(dataset: Dataset) -> list[str]:
    """The dataset's warnings, from the split sizes kept on its row."""
    return warnings_for({split: int(dataset.split_sizes.get(split, 0)) for split in SCORED_SPLITS})


def all_dataset_warnings() -> dict[str, list[str]]:
    """Each dataset's warnings by name, for the round form (datasets without any left out)."""
    counts = split_counts()
    names = dict(Dataset.objects.values_list("pk", "name"))
    found = {names[pk]: warnings_for(split) for pk, split in counts.items() if pk in names}
    return {name: said for name, said in sorted(found.items()) if said}
