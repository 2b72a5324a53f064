"""Crawling the pages a logged-in user can reach, with the links and POST forms on each."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

# Not pages: logout, files, the service worker, downloads, photos, checklist sources.
SKIP = re.compile(r"^/(logout|static/|sw\.js|manifest|photos/|.*\.(pdf|csv|xlsx)$|.*/source$)")


class Page(HTMLParser):
    """The links and POST forms of a page: [(action, [(name, type, value)])].

    A form that names its URL in hx-post only (the audit screen's items) posts there."""

    def __init__(self):
        super().__init__()
        self.links, self.forms, self._form = [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form" and ((a.get("method") or "").lower() == "post" or a.get("hx-post")):
            self._form = (a.get("action") or a.get("hx-post") or "", [])
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea") and self._form is not None and a.get("name"):
            self._form[1].append((a["name"], a.get("type", tag), a.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def crawl(client, max_pages: int = 150, start=("/", "/menu")):
    """Every page reachable from the start pages by links: {path: html}, and the POST forms on them."""
    seen, queue, forms, texts = set(), deque(start), [], {}
    while queue and len(seen) < max_pages:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path, follow_redirects=True)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        page = Page()
        texts[path] = response.get_data(as_text=True)
        page.feed(texts[path])
        here = response.request.path
        forms += [(urljoin(here, action) if action else here, fields) for action, fields in page.forms]
        for href in page.links:
            target = urlsplit(urljoin(here, href))
            if not target.netloc and not SKIP.match(target.path):
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return texts, forms
