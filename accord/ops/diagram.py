"""`accord diagram FILE`: the lifecycle a definition implies, as a Mermaid flowchart.

Stages in order, with what each asks of whom and by when: the screening checklist, the
alignment check and the go/no-go; the MOU signature (policy, signing order, deadline,
rounds); launch deliverables; review cadences and metrics once active; renewal; and the
escalation ladder with its triggers. Paste it into any Mermaid renderer (GitHub
Markdown renders ```mermaid blocks).
"""

from __future__ import annotations

import re

from definitions.schema import ApprovalRules, PartnershipDefinition

REVIEW_NAMES = {"weekly_status": "Status review", "monthly": "Monthly review", "quarterly": "Quarterly review",
                "six_month_formal": "Six-month formal review", "annual_mutual_value": "Mutual value review"}


# What may stand in a label as it is: letters and digits, spaces, characters beyond ASCII,
# and ASCII punctuation that means nothing to Mermaid's parser, to its Markdown labels or to
# the HTML labels are drawn as. Everything else is written as an entity code ("#34;" for a
# double quote), which Mermaid shows as the character itself: quotes, brackets, "<br/>",
# "-->", "%%" directives and HTML in a name are shown, never obeyed. A ":" right before a
# non-space is coded too: Mermaid drops the last ";" of a "style...:x#...;" run before
# parsing, which would break a code.
_LITERAL = re.compile(r"(?!:(?:\s|$))[^\w .,'?!+=/()\-\u00a0-\U0010ffff]")
def _text(value: object) -> str:
    """Text from a definition as a Mermaid label shows it literally: on one line (a line break
    would end the statement), with every other character coded."""
    one_line = " ".join(str(value).split())
    return _LITERAL.sub(lambda m: f"#{ord(m.group())};", one_line)


def _people(d: PartnershipDefinition, ids: list[str], joiner: str = ", ") -> str:
    people = d.stakeholders()
    return joiner.join(_text(people[i].name) if i in people else _text(i) for i in ids)


def _policy(rules: ApprovalRules, approvers: list[str], d: PartnershipDefinition) -> str:
    if rules.policy.value == "sequential":
        return "in order: " + _people(d, approvers, " → ")
    if rules.policy.value == "quorum":
        return f"{rules.quorum} of: " + _people(d, approvers)
    return f"{rules.policy.value} of: " + _people(d, approvers)


def _approval(node: str, title: str, rules: ApprovalRules, approvers: list[str], d: PartnershipDefinition,
              extra: str = "") -> str:
    label = f"{title}<br/>{_policy(rules, approvers, d)}<br/>deadline {rules.deadline}, then {rules.on_timeout.value}"
    if rules.allow_delegation:
        label += " · delegation allowed"
    return f'    {node}{{{{"{label}{extra}"}}}}'


def mermaid(d: PartnershipDefinition) -> str:
    people = d.stakeholders()
    numbers = iter(range(1, 10))
    out = ["flowchart TD", f'    start(["{_text(d.name)}<br/>{len(d.parties)} parties · {d.formality.value}"]) --> screening']

    # ---- screening
    out.append(f'    subgraph screening["{next(numbers)} · Screening"]')
    out.append("    direction TB")
    gates = []
    for item in d.screening.checklist:
        node = f"task_{item.id}".replace("-", "_")
        owner = people[item.owner].name if item.owner in people else item.owner
        optional = "" if item.required else " · optional"
        out.append(f'    {node}["{_text(item.title)}<br/>{_text(owner)} · due {item.due}{optional}"]')
        gates.append(node)
    if d.screening.alignment:
        a = d.screening.alignment
        out.append(f'    alignment["Goal alignment statements<br/>{_people(d, a.participants)}<br/>'
                   f'due {a.due} · blocks above divergence {a.threshold}"]')
        gates.append("alignment")
    out.append(_approval("go_no_go", "Go / no-go", d.screening.go_no_go, d.screening.go_no_go.approvers, d))
    out += [f"    {g} --> go_no_go" for g in gates]
    out.append("    end")
    out.append("    go_no_go -->|no-go| rejected([rejected])")

    # ---- MOU
    after_screening = "launch"
    if d.mou:
        m = d.mou
        out.append(f'    subgraph mou["{next(numbers)} · MOU"]')
        out.append("    direction TB")
        out.append(f'    draft["Draft from {_text(m.template)}<br/>versions stored by SHA-256"]')
        out.append(_approval("signature", "Signature", m, m.signatories, d, f"<br/>up to {m.max_rounds} rounds"))
        out.append("    draft --> signature")
        out.append("    signature -->|request changes| draft")
        out.append("    end")
        out.append("    go_no_go -->|go| draft")
        out.append("    signature -->|declined, expired or out of rounds| terminated([terminated])")
        out.append("    signature -->|signed| launch")
        after_screening = ""
    if after_screening:
        out.append("    go_no_go -->|go| launch")

    # ---- launch
    launch_items = [(x.id, x.title, x.owner, x.due) for x in d.launch.deliverables] + [
        (x.id, x.title, x.owner, x.due) for x in d.launch.checklist]
    out.append(f'    subgraph launch["{next(numbers)} · Launch"]')
    out.append("    direction TB")
    if launch_items:
        for ident, title, owner, due in launch_items:
            node = f"launch_{ident}".replace("-", "_")
            out.append(f'    {node}["{_text(title)}<br/>{_text(people[owner].name if owner in people else owner)} · due {due}"]')
    else:
        out.append('    launch_none["no deliverables defined"]')
    out.append("    end")
    out.append("    launch --> active")

    # ---- active
    out.append(f'    subgraph active["{next(numbers)} · Active"]')
    out.append("    direction TB")
    reviews = [(name, c) for name, c in d.reviews if c is not None and c.enabled]
    for name, cadence in reviews:
        who = f" · {_people(d, cadence.participants)}" if cadence.participants else ""
        when = f"every {cadence.every}" if cadence.rule is None else _text(cadence.rule.describe())
        out.append(f'    review_{name}["{REVIEW_NAMES.get(name, name)}<br/>{when}, '
                   f'inputs due in {cadence.inputs_due}{who}"]')
    for metric in d.metrics:
        out.append(f'    metric_{metric.id.replace("-", "_")}[/"{_text(metric.name)}: {"?" if metric.baseline is None else f"{metric.baseline:g}"} → '
                   f'{metric.target:g} {_text(metric.unit)}<br/>every {metric.cadence} · {_text(people[metric.owner].name if metric.owner in people else metric.owner)}"/]')
    if not reviews and not d.metrics:
        out.append('    active_none["no reviews or metrics defined"]')
    out.append("    end")

    # ---- renewal
    if d.renewal:
        r = d.renewal
        out.append(f'    subgraph renewal["{next(numbers)} · Renewal"]')
        out.append(_approval("renewal_decision", f"Renew? (term {r.term}, decided {r.notice} before its end)",
                             r.approval, r.approval.approvers, d))
        out.append("    end")
        out.append("    active --> renewal_decision")
        out.append("    renewal_decision -->|renew| active")
        out.append("    renewal_decision -->|do not renew| closed([closed])")
    else:
        out.append("    active --> closed([closed])")

    # ---- escalation ladder
    out.append('    subgraph escalation["Escalation ladder"]')
    out.append("    direction LR")
    for n, level in enumerate(d.escalation.ladder, 1):
        out.append(f'    level{n}["Level {n}: {_text(level.name)}<br/>{_people(d, level.contacts)}<br/>respond within {level.respond_within}"]')
        if n > 1:
            out.append(f"    level{n - 1} -->|no answer| level{n}")
    out.append(f'    level{len(d.escalation.ladder)} -->|no answer| ops_desk(["Ops: {_text(d.ops[0].name)}"])')
    out.append("    end")
    triggers = [(name, t) for name, t in d.escalation.triggers if t.enabled]
    overdue = d.escalation.triggers.overdue
    if overdue.enabled and d.screening.checklist:
        out.append(f"    screening -.->|overdue past escalate_after {d.reminders.escalate_after or 'never'}| level{overdue.level}")
    if d.screening.go_no_go.on_timeout.value == "escalate":
        out.append("    go_no_go -.->|deadline passed| level1")
    other = [f"{name.replace('_', ' ')} → L{t.level}" for name, t in triggers if name != "overdue"]
    if other:
        out.append(f'    triggers>"Other triggers: {_text(", ".join(other))}"] -.-> escalation')
    return "\n".join(out) + "\n"
