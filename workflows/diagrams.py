"""Each kind's workflow as a Mermaid state diagram, drawn by `transitions` from the rules in force."""
from __future__ import annotations

import copy
from typing import Callable

from transitions.extensions import GraphMachine

from workflows.rules import KindRules


class _Drawing:
    """The model a GraphMachine draws; it holds nothing but the state."""


def mermaid(kind: KindRules, language: str = "en", word: Callable[[str], str] = str) -> str:
    """Mermaid source: states by their labels, each transition named by its trigger and roles.

    `word` names a role or a result in the reader's language (the rules' own name by default).

    Triggers that keep the state (a reassignment, a progress update) are left out of the drawing:
    on every state they would only add loops; `steps_in_place` lists them.
    """
    model = _Drawing()
    states = [{"name": s.name, "label": f"{s.label[language]}"} for s in kind.states.values()]
    machine = GraphMachine(model=model, states=[s["name"] for s in states], initial=kind.initial,
                           graph_engine="mermaid", auto_transitions=False, title=kind.label[language])
    # transitions draws the first state red on dark salmon (contrast about 1.6:1): dark on amber.
    machine.style_attributes = copy.deepcopy(machine.style_attributes)
    machine.style_attributes["node"]["active"] = {
        "color": "#1d2329", "fillcolor": "#ffe2b3", "stroke": "#8a5a00", "stroke-width": "2px"}
    for trigger in kind.triggers.values():
        name = f"{trigger.label[language]} ({', '.join(word(r) for r in sorted(trigger.roles))})"
        if trigger.dest_by:
            for value, dest in trigger.dest_choices.items():
                machine.add_transition(f"{name} [{word(value)}]", list(trigger.sources), dest)
        elif trigger.dest is not None:
            machine.add_transition(name, list(trigger.sources), trigger.dest)
    source = model.get_graph().draw(None)
    for state in states:  # show the readable label instead of the state's key
        source = source.replace(f'state "{state["name"]}" as', f'state "{state["label"]}" as')
    return source


def steps_in_place(kind: KindRules) -> list:
    """The triggers that record something without moving the ticket to another state."""
    return [t for t in kind.triggers.values() if t.dest is None and not t.dest_by]
