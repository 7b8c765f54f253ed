"""Each kind's workflow as a Mermaid state diagram, drawn by the kind's `transitions` machine
(built from the rules at start-up, workflows.rules) in the reader's language."""
from __future__ import annotations

import re

from workflows.rules import KindRules
from workflows.words import label, rules_word

# transitions draws the first state red on dark salmon (a contrast of about 1.6:1): dark on amber.
_ACTIVE = re.compile(r"^(\s*classDef s_active ).*$", re.M)
_EDGE = re.compile(r"^(?P<head>\s*\S+ --> \S+: )(?P<trigger>\w+)(?: \[(?P<value>\w+)\])?$", re.M)


def mermaid(kind: KindRules) -> str:
    """Mermaid source: states by their labels, each transition named by its trigger and roles.

    Triggers that keep the state (a reassignment, a progress update) are left out: on every
    state they would only add loops; `steps_in_place` lists them.
    """
    source = kind.machine.model.get_graph().draw(None)
    source = source.replace(f"---\n{kind.name}\n---", f"---\n{label(kind.label)}\n---", 1)
    source = _ACTIVE.sub(r"\1color:#1d2329,fill:#ffe2b3,stroke:#8a5a00,stroke-width:2px",
                         source)
    for state in kind.states.values():  # the readable label instead of the state's key
        source = source.replace(f'state "{state.name}" as', f'state "{label(state.label)}" as')

    def edge(match: re.Match) -> str:
        trigger = kind.triggers[match["trigger"]]
        roles = ", ".join(rules_word(r) for r in sorted(trigger.roles))
        value = f" [{rules_word(match['value'])}]" if match["value"] else ""
        return f"{match['head']}{label(trigger.label)} ({roles}){value}"

    lines = [line for line in source.splitlines() if not line.endswith(" [internal]")]
    return _EDGE.sub(edge, "\n".join(lines))


def steps_in_place(kind: KindRules) -> list:
    """The triggers that record something without moving the ticket to another state."""
    return [t for t in kind.triggers.values() if t.dest is None and not t.dest_by]
