"""The job form's preprocessing steps, generated from the step registry (``algorithms.steps``)
like the parameters are from the algorithm registry: ``SLOTS`` places, each a choice of step
(or none) and, for every step, that step's parameters (the page shows the chosen step's only).

The form only collects; ``validate_params`` (through ``queue.submit_job``) checks the steps,
against the round's data too, and its refusal is shown above the steps, naming the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext

from mlcontest.algorithms.steps import STEPS, Step
from mlcontest.web.forms import param_field

SLOTS = 3


@dataclass(frozen=True)
class StepChoice:
    """One step's parameters in one slot, as the template lays them out."""

    slot: int
    step: Step
    fields: list[forms.BoundField]
    chosen: bool


@dataclass(frozen=True)
class Slot:
    number: int
    kind: forms.BoundField
    choices: list[StepChoice]


def _name(slot: int, step: str, param: str) -> str:
    return f"s{slot}_{step}_{param}"


class StepsForm(forms.Form):
    def __init__(
        self,
        *args: Any,
        values: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("prefix", "steps")
        super().__init__(*args, **kwargs)
        given = list(values or [])
        choices = [("", gettext("none"))] + [
            (step.name, gettext(step.label)) for step in STEPS.values()
        ]
        for slot in range(1, SLOTS + 1):
            start = given[slot - 1] if slot <= len(given) else {}
            kind = forms.ChoiceField(choices=choices, required=False, initial=start.get("step", ""))
            kind.label = gettext("Step %(n)s") % {"n": slot}
            self.fields[f"s{slot}"] = kind
            for step in STEPS.values():
                for param in step.params:
                    field = param_field(param)
                    field.label = param.shown_name
                    field.required = False
                    if start.get("step") == step.name and param.name in start:
                        value = start[param.name]
                        field.initial = "" if value is None else value
                    self.fields[_name(slot, step.name, param.name)] = field

    @property
    def opened(self) -> bool:
        """Whether the page shows the steps unfolded: some are chosen, or one was refused."""
        return bool(self.non_field_errors()) or any(
            slot.choices and any(choice.chosen for choice in slot.choices) for slot in self.slots()
        )

    def slots(self) -> list[Slot]:
        chosen = {
            slot: (self.data.get(self.add_prefix(f"s{slot}")) if self.is_bound else None)
            or self.fields[f"s{slot}"].initial
            for slot in range(1, SLOTS + 1)
        }
        return [
            Slot(
                slot,
                self[f"s{slot}"],
                [
                    StepChoice(
                        slot,
                        step,
                        [self[_name(slot, step.name, param.name)] for param in step.params],
                        chosen[slot] == step.name,
                    )
                    for step in STEPS.values()
                ],
            )
            for slot in range(1, SLOTS + 1)
        ]

    def steps(self) -> list[dict[str, Any]]:
        """The chosen steps in slot order, each with the values given for its parameters (an
        empty box means "none" to a nullable parameter, the default otherwise)."""
        cleaned = self.cleaned_data
        chosen: list[dict[str, Any]] = []
        for slot in range(1, SLOTS + 1):
            name = cleaned.get(f"s{slot}")
            if not name:
                continue
            step = STEPS[name]
            values: dict[str, Any] = {"step": name}
            for param in step.params:
                value = cleaned.get(_name(slot, name, param.name))
                if value == "" and not param.nullable:
                    continue
                values[param.name] = None if value == "" else value
            chosen.append(values)
        return chosen
