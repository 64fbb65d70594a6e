"""Pages of the record lists: a malformed page number is the client's mistake (400), not a 404."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import exceptions, pagination
from rest_framework.request import Request

_PAGE = re.compile(r"[0-9]{1,9}")


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page numbers; `?page=abc`, 0 or -1 answer 400, a page past the last stays 404."""

    def get_page_number(self, request: Request, paginator: Any) -> int | str:
        raw = request.query_params.get(self.page_query_param) or "1"
        if raw in self.last_page_strings:
            return raw
        if not _PAGE.fullmatch(raw) or int(raw) < 1:
            shown = raw if len(raw) <= 20 else f"{raw[:19]}…"
            raise exceptions.ValidationError(
                {self.page_query_param: [f"must be a page number from 1; got {shown!r}."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1, maximum=10**9 - 1)  # get_page_number's
        return parameters
