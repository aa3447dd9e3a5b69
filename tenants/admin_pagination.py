"""The paginator of admin lists that grow with a seller's business (orders, notifications,
webhook deliveries): it never counts more than ``EXACT_COUNT_LIMIT`` rows.

Django's admin counts the filtered list on every page it shows. For a seller with 100,000 orders
that count reads 100,000 index entries, and when the table's visibility map lags behind its
updates (orders change status all day) PostgreSQL reads the rows themselves: seconds, on every
page. Here the count stops at ``EXACT_COUNT_LIMIT + 1`` rows, a bounded query that is exact for
most lists; past it, on PostgreSQL, the count is the planner's estimate of the filtered query
(``EXPLAIN``, which reads no rows), shown as "about N" (``templates/admin/pagination.html``), and
a page past the estimate is shown empty instead of being refused. Other databases (SQLite in
development) count everything, as Django does.
"""

import json
from functools import cached_property

from django.core.paginator import Paginator
from django.db import connections

EXACT_COUNT_LIMIT = 10_000


class EstimatedCountPaginator(Paginator):
    exact_count_limit = EXACT_COUNT_LIMIT
    count_is_estimate = False

    @cached_property
    def count(self) -> int:
        rows = self.object_list.order_by()  # the order changes no count, and costs a sort
        counted = rows[: self.exact_count_limit + 1].count()
        if counted <= self.exact_count_limit:
            return counted
        if connections[rows.db].vendor != "postgresql":
            return rows.count()
        self.count_is_estimate = True
        plan = json.loads(rows.explain(format="json"))
        return max(counted, int(plan[0]["Plan"]["Plan Rows"]))

    def validate_number(self, number):
        estimated = self.count and self.count_is_estimate  # counting tells whether it estimated
        if estimated and isinstance(number, int) and number >= 1:
            return number  # the last pages of an estimate may be empty: not an error
        return super().validate_number(number)
