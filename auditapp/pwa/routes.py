"""URL patterns for the browser, made from the app's URL map rather than copied by hand.

The page script keeps in its outbox only changes to the replayable endpoints (outbox/replay.py);
the service worker keeps for offline use only the pages named here. Both get JavaScript regex
sources for those endpoints' rules, so a renamed endpoint or a moved URL changes them too.
"""

import re

from werkzeug.routing import Map

from ..outbox.replay import REPLAYABLE, REPLAYABLE_ENDPOINTS

# The pages the service worker keeps, so an audit opens with no network: My audits, the audit
# screen, its guidance, its item fragments, and the photos shown on them.
KEPT_OFFLINE = ("audits.mine", "audits.show", "audits.guidance", "audits.item", "photos.show")

# <converter(arguments):name> in a rule; a bare <name> uses the default (string) converter.
VARIABLE = re.compile(r"<(?:(?P<converter>[a-zA-Z_]\w*)(?:\((?P<arguments>.*?)\))?:)?(?P<name>[a-zA-Z_]\w*)>")
# What each converter accepts, in syntax JavaScript and Python read alike. Converter arguments
# (lengths, bounds) are left to the server: a pattern may accept a little more than its rule.
CONVERTER_PATTERNS = {"int": r"\d+", "string": r"[^/]+", "default": r"[^/]+"}
SPECIAL = re.compile(r"[\\^$.*+?()[\]{}|]")


def rule_pattern(rule: str) -> tuple[str, list[str]]:
    """A rule as an anchored regex source with one group per argument, and the arguments' names."""
    parts, names, end = ["^"], [], 0
    for match in VARIABLE.finditer(rule):
        converter = match["converter"] or "default"
        if converter not in CONVERTER_PATTERNS:
            raise ValueError(f"{rule}: the browser has no pattern for the {converter!r} converter")
        parts += [SPECIAL.sub(r"\\\g<0>", rule[end : match.start()]), f"({CONVERTER_PATTERNS[converter]})"]
        names.append(match["name"])
        end = match.end()
    parts += [SPECIAL.sub(r"\\\g<0>", rule[end:]), "$"]
    return "".join(parts), names


def url_patterns(url_map: Map, endpoints) -> list[dict]:
    """One {endpoint, pattern, args} per URL rule of the given endpoints, in their order."""
    routes = []
    for endpoint in endpoints:
        try:
            rules = list(url_map.iter_rules(endpoint))
        except KeyError:
            raise LookupError(f"{endpoint} is not in the URL map: rename it where it is declared") from None
        for rule in rules:
            pattern, args = rule_pattern(rule.rule)
            routes.append({"endpoint": endpoint, "pattern": pattern, "args": args})
    return routes


def queueable(url_map: Map) -> list[dict]:
    """The changes the page may keep in its outbox when the network fails, with the kind of each."""
    return [
        {**route, "kind": REPLAYABLE[route["endpoint"]].kind} for route in url_patterns(url_map, REPLAYABLE_ENDPOINTS)
    ]


def kept_offline(url_map: Map) -> list[str]:
    """The regex sources of the pages the service worker keeps for offline use."""
    return [route["pattern"] for route in url_patterns(url_map, KEPT_OFFLINE)]
