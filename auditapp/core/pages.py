"""Pages of long lists: Flask-SQLAlchemy's paginate, where a page past the end shows the last one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from ..extensions import db


@dataclass
class Paged:
    """A page of a list for templates/_pager.html: the pager, and page_url(n) in the subclass."""

    pager: Pagination

    @property
    def items(self) -> list[Any]:
        return list(self.pager.items)

    @property
    def total(self) -> int:
        return self.pager.total or 0

    def page_url(self, number: int) -> str:
        raise NotImplementedError


def paginate(query: Select[Any], page: int, per_page: int) -> Pagination:
    """One page of the query and its total (two queries); a stale link past the end lands on the last page."""
    result = db.paginate(query, page=max(page, 1), per_page=per_page, max_per_page=per_page, error_out=False)
    if result.page > 1 and result.page > result.pages:
        result = db.paginate(
            query, page=max(result.pages, 1), per_page=per_page, max_per_page=per_page, error_out=False
        )
    return result
