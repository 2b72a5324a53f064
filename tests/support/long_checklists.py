"""Long generated checklists, to see how problems read when one mistake repeats in many items."""


def long_walk(items: int = 120, per_section: int = 40, item_text: str = "") -> str:
    """A walk of `items` items in sections of `per_section`; `item_text` is added to every item."""
    out = ["id: walk", "title: Long walk", "version: 1", "sections:"]
    for n in range(items):
        if n % per_section == 0:
            out += [f"  - title: Area {n // per_section + 1}", "    items:"]
        out += [
            f"      - id: rcv-{n + 1:03}",
            f'        reference: "R-{n + 1}"',
            f"        question: Is point {n + 1} in order?",
        ]
        out += [f"        {line}" for line in item_text.splitlines()]
    return "\n".join(out) + "\n"
