"""Pages of long lists: Flask-SQLAlchemy's paginate, where a page past the end shows the last one."""
from __future__ import annotations

from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from ..extensions import db


def paginate(query: Select[Any], page: int, per_page: int) -> Pagination:
    """One page of the query and its total (two queries); a stale link past the end lands on the last page."""
    result = db.paginate(query, page=max(page, 1), per_page=per_page, max_per_page=per_page, error_out=False)
    if result.page > 1 and result.page > result.pages:
        result = db.paginate(query, page=max(result.pages, 1), per_page=per_page, max_per_page=per_page,
                             error_out=False)
    return result
