"""Keyset (cursor) pagination: "the 24 rows after this one" instead of OFFSET.

OFFSET makes page 50 read and throw away 1,176 rows, and a prompt published while someone reads
shifts every later page by one (a duplicate, or a prompt never seen). A cursor names the last row
shown by its sort value and id, so the next page starts exactly after it, costs the same at any
depth, and new prompts cannot push rows across the page boundary.

A cursor is an opaque URL-safe token: base64 of the JSON [value, id]. Nothing in it is trusted:
a token that does not decode to the right types is a `BadCursor` (the view answers 400).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from prompts.services.errors import InvalidInput


class BadCursor(InvalidInput):
    pass


@dataclass(frozen=True)
class Order:
    """A keyset order: one sort value, then the id to break ties.

    `column` is a model field (its database column is compared as a row value, `(value, id) <
    (x, y)`, which an index on (value, id) serves as a range) or, when `annotation` is set, a
    name given by `.annotate()` (relevance: compared with OR, no index can help anyway).
    """

    field: str
    kind: type  # datetime, int or float
    descending: bool = True
    annotation: bool = False


def encode(value, pk: int, *extra: int) -> str:
    """`extra`: more whole numbers the list needs to continue (search relevance: its window)."""
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, pk, *extra], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _whole(number) -> bool:
    return isinstance(number, int) and not isinstance(number, bool) and 0 <= number < 2**63


def decode(token: str, kind: type, *, extra: int = 0) -> tuple:
    """(value, pk), followed by `extra` whole numbers when the token carries them (None each when
    it is a plain [value, pk] token)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        items = json.loads(raw)
        if not isinstance(items, list) or len(items) not in {2, 2 + extra}:
            raise ValueError
        value, pk, *more = items
    except (ValueError, TypeError, binascii.Error):
        raise BadCursor("This page link is broken. Start again from the first page.") from None
    if not _whole(pk) or pk == 0 or not all(_whole(number) for number in more):
        raise BadCursor("This page link is broken. Start again from the first page.")
    try:
        if kind is datetime:
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError
        elif kind is int:
            if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**63:
                raise ValueError
        elif kind is float:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError
            value = float(value)
    except (ValueError, TypeError):
        raise BadCursor("This page link is broken. Start again from the first page.") from None
    if extra:
        return (value, pk, *(more or [None] * extra))
    return value, pk


@dataclass
class KeysetPage:
    items: list
    next_cursor: str | None  # "after" of the next page, None on the last page
    prev_cursor: str | None  # "before" of the previous page, None on the first page

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def _beyond(queryset: QuerySet, order: Order, value, pk: int, *, later: bool) -> QuerySet:
    """Rows that come after (later=True) or before the cursor row in the order's direction."""
    greater = later != order.descending  # going forward on a descending order means smaller values
    op = ">" if greater else "<"
    if order.annotation:
        value_cmp = Q(**{f"{order.field}__{'gt' if greater else 'lt'}": value})
        tie = Q(**{order.field: value, f"id__{'gt' if greater else 'lt'}": pk})
        return queryset.filter(value_cmp | tie)
    model = queryset.model
    field = model._meta.get_field(order.field)
    table = connection.ops.quote_name(model._meta.db_table)
    column = f"{table}.{connection.ops.quote_name(field.column)}"
    pk_column = f"{table}.{connection.ops.quote_name(model._meta.pk.column)}"
    db_value = field.get_db_prep_value(value, connection)
    condition = RawSQL(f"({column}, {pk_column}) {op} (%s, %s)", [db_value, pk], output_field=BooleanField())
    return queryset.filter(condition)


def keyset_page(
    queryset: QuerySet, *, order: Order, after: str | None = None, before: str | None = None, size: int = 24
) -> KeysetPage:
    """One page of `queryset` in `order`, after the `after` cursor or before the `before` one."""
    direction = "-" if order.descending else ""
    reverse = "" if order.descending else "-"
    if before:
        value, pk = decode(before, order.kind)
        rows = list(
            _beyond(queryset, order, value, pk, later=False).order_by(f"{reverse}{order.field}", f"{reverse}id")[
                : size + 1
            ]
        )
        more_before = len(rows) > size
        items = list(reversed(rows[:size]))
        return KeysetPage(
            items=items,
            next_cursor=cursor_of(items[-1], order) if items else None,
            prev_cursor=cursor_of(items[0], order) if more_before and items else None,
        )
    if after:
        value, pk = decode(after, order.kind)
        queryset = _beyond(queryset, order, value, pk, later=True)
    rows = list(queryset.order_by(f"{direction}{order.field}", f"{direction}id")[: size + 1])
    items = rows[:size]
    return KeysetPage(
        items=items,
        next_cursor=cursor_of(items[-1], order) if len(rows) > size else None,
        prev_cursor=cursor_of(items[0], order) if after and items else None,
    )


def cursor_of(item, order: Order) -> str:
    return encode(getattr(item, order.field), item.pk)
