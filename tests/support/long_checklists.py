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


def receiving_example() -> str:
    """The README's example of `flask checklists check`: a typo'd key, another tool's result word and a
    misspelt key repeated in 96 items of a 101-item checklist."""
    out = ["id: receiving", "title: Goods receiving audit", "version: 1", "sections:", "  - title: Documents"]
    out += [
        "    items:",
        "      - id: doc-01",
        '        reference: "D-1"',
        "        question: Is the procedure current?",
    ]
    out += ["  - title: Receiving", "    items:"]
    for n in range(1, 101):
        out += [f"      - id: rcv-{n:02}", f'        reference: "R-{n}"', f"        question: Is check {n} done?"]
        if n == 3:
            out += ["        notes: Ask the storekeeper."]
        if n == 4:
            out += ["        results: [compliant, minor_nc, major_nc]"]
        if n >= 5:
            out += ["        guidence: Look at the last delivery."]
    return "\n".join(out) + "\n"
