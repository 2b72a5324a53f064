"""The auditable clauses of ISO 9001:2015 (4.1 to 10.3), as short references for coverage."""

import functools

AUDITABLE_CLAUSES = [
    ("4.1", "Context: internal and external issues"),
    ("4.2", "Needs of interested parties"),
    ("4.3", "Scope of the QMS"),
    ("4.4", "QMS and its processes"),
    ("5.1.1", "Leadership and commitment"),
    ("5.1.2", "Customer focus"),
    ("5.2.1", "Quality policy"),
    ("5.2.2", "Communicating the policy"),
    ("5.3", "Roles, responsibilities, authorities"),
    ("6.1", "Risks and opportunities"),
    ("6.2", "Quality objectives"),
    ("6.3", "Planning of changes"),
    ("7.1.1", "Resources: general"),
    ("7.1.2", "People"),
    ("7.1.3", "Infrastructure"),
    ("7.1.4", "Process environment"),
    ("7.1.5", "Monitoring and measuring resources"),
    ("7.1.6", "Organizational knowledge"),
    ("7.2", "Competence"),
    ("7.3", "Awareness"),
    ("7.4", "Communication"),
    ("7.5.1", "Documented information: general"),
    ("7.5.2", "Creating and updating"),
    ("7.5.3", "Control of documented information"),
    ("8.1", "Operational planning and control"),
    ("8.2.1", "Customer communication"),
    ("8.2.2", "Requirements for products and services"),
    ("8.2.3", "Review of requirements"),
    ("8.2.4", "Changes to requirements"),
    ("8.3.1", "Design: general"),
    ("8.3.2", "Design planning"),
    ("8.3.3", "Design inputs"),
    ("8.3.4", "Design controls"),
    ("8.3.5", "Design outputs"),
    ("8.3.6", "Design changes"),
    ("8.4.1", "External providers: general"),
    ("8.4.2", "Type and extent of control"),
    ("8.4.3", "Information for external providers"),
    ("8.5.1", "Control of production"),
    ("8.5.2", "Identification and traceability"),
    ("8.5.3", "Property of customers or providers"),
    ("8.5.4", "Preservation"),
    ("8.5.5", "Post-delivery activities"),
    ("8.5.6", "Control of changes"),
    ("8.6", "Release of products"),
    ("8.7", "Control of nonconforming outputs"),
    ("9.1.1", "Monitoring and measurement: general"),
    ("9.1.2", "Customer satisfaction"),
    ("9.1.3", "Analysis and evaluation"),
    ("9.2", "Internal audit"),
    ("9.3", "Management review"),
    ("10.1", "Improvement: general"),
    ("10.2", "Nonconformity and corrective action"),
    ("10.3", "Continual improvement"),
]


@functools.cache
def auditable_clause_of(clause: str) -> str | None:
    """The auditable clause a checklist clause falls under: "8.5.2.1" -> "8.5.2", "9.2.2" -> "9.2"."""
    best = None
    for code, _ in AUDITABLE_CLAUSES:
        if clause == code or clause.startswith(code + "."):
            if best is None or len(code) > len(best):
                best = code
    return best
