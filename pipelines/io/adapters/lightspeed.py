"""Lightspeed Restaurant K-Series (formerly iKentoo): Financial API sales, format ``lightspeed``.

Reads the responses of the K-Series Financial API as published in its OpenAPI
(``api-docs.lsk.lightspeed.app/source.json``, mirrored in ``api-evangelist/lightspeed-pos``
``openapi/lightspeed-pos-financial-api-openapi.yml`` and ``...-financialv2-api-openapi.yml``), in
the three shapes a restaurant may hold:

- **V1** ``GET /f/finance/{businessLocationId}/financials/{from}/{to}`` and ``.../dailyFinancials``
  (schema ``financial-apiFinancialDto``): ``{"businessName", "nextStartOfDayAsIso8601",
  "businessLocationId", "sales": [...], "dataComplete", "_links"}``; sales spell ``timeofOpening``
  and ``timeofCloseAndPaid``, lines ``timeofSale`` (UTC, ``...Z``).
- **V2** ``GET /f/v2/business-location/{id}/sales`` and ``.../sales-daily`` (schemas
  ``financial-apiSalesExportDto`` / ``financial-apiSalesDailyExportDto``): ``{"sales": [...],
  "nextPageToken"}`` or ``{"sales", "nextStartOfDayAsIso8601", "dataComplete"}``, with no
  business location in the body; sales spell ``timeOfOpening`` and ``timeClosed``, lines
  ``timeOfSale``.
- **iKentoo era** (``maillotf/ikentoo-bridge-bundle`` ``src/Service/FinancialService.php``,
  ``omniboost/go-ikentoo`` ``types.go``): the V1 envelope with ``timeOfOpening`` /
  ``timeOfCloseAndPaid`` in local time with an offset, lines without ``id`` and sometimes without
  ``totalNetAmountWithoutTax``, no ``receiptId``, quantities like ``"1.000"``, amounts as strings or
  numbers.

A file holds one response, a JSON array of responses (pages, or several business locations
concatenated), a JSON array of sales, or a single sale (``saleByExternalReference``).

Each sale is one order, its id the sale's ``accountFiscId`` (``receiptId``, then
``accountReference`` when it has none). Lines: a line with ``parentLineId`` is a child line
(modifier, menu component) carrying its own amount; a line without ``id`` gets the id
``<order id>#<position>``, stable across re-imports of the same data. Sale types (the spec's enum
of 11): ``SALE`` is demand; ``REFUND`` gives ``refund`` lines dated at the refund sale's opening;
``VOID`` and ``CANCEL`` give ``void`` lines; ``RECALL``, ``SPLIT``, ``UPDATE``, ``TRANSFER``,
``CROSS_BL``, ``FLOAT`` and ``TRANSITORY`` are bookkeeping records whose items, if any, are reported
by the sales they lead to, and are skipped so nothing counts twice. A ``cancelled`` sale, a sale
with a ``voidReason``, a line with a ``voidReason`` and the children of a voided line are ``void``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from models import columns as c
from pipelines.errors import ImportFileError
from pipelines.io.adapters._json_common import (
    MAX_COUNT,
    MAX_MINOR,
    MISSING,
    RECORD_FIELD,
    Builder,
    JsonObject,
    Line,
    RecordError,
    StreamFailed,
    TimeFormat,
    first_item,
    get_decimal,
    get_flag,
    get_object,
    get_objects,
    get_optional_decimal,
    get_optional_id,
    get_optional_text,
    index,
    join,
    json_type,
    load_document,
    sniff_json,
    stream_items,
)
from pipelines.io.adapters.base import (
    ParseContext,
    ParsedFile,
    RestaurantInfo,
    resolve_file_restaurant,
)
from pipelines.io.adapters.common import display_path, head_text

NAME: Final = "lightspeed"


class F:
    """Lightspeed's field names, in one place so they are easy to correct."""

    # response envelope
    LOCATION: Final = "businessLocationId"
    SALES: Final = "sales"
    NEXT_DAY: Final = "nextStartOfDayAsIso8601"
    COMPLETE: Final = "dataComplete"
    NEXT_PAGE: Final = "nextPageToken"
    # sale
    ACCOUNT_FISC_ID: Final = "accountFiscId"
    RECEIPT_ID: Final = "receiptId"
    ACCOUNT_REFERENCE: Final = "accountReference"
    OPENED: Final = ("timeofOpening", "timeOfOpening")  # V1 | V2 and iKentoo era
    CLOSED: Final = ("timeofCloseAndPaid", "timeOfCloseAndPaid", "timeClosed")
    CANCELLED: Final = "cancelled"
    TYPE: Final = "type"
    COVERS: Final = "nbCovers"
    VOID_REASON: Final = "voidReason"
    LINES: Final = "salesLines"
    # sales line
    LINE_ID: Final = "id"
    PARENT_LINE_ID: Final = "parentLineId"
    LINE_TIME: Final = ("timeofSale", "timeOfSale")
    ITEM: Final = ("name", "nameOverride", "sku")
    QUANTITY: Final = "quantity"
    NET: Final = "totalNetAmountWithoutTax"
    GROSS: Final = "totalNetAmountWithTax"
    TAX: Final = "taxAmount"
    TAX_LINES: Final = "taxLines"
    TAX_INCLUDED: Final = "taxIncluded"
    SERVICE_CHARGE: Final = "serviceCharge"
    COMP_BASIS: Final = ("totalDiscountAmount", "discountAmount", "accountDiscountAmount")
    LIST_PRICE: Final = "menuListPrice"
    GROUP: Final = "accountingGroup"
    GROUP_NAME: Final = "name"
    STATISTIC_GROUP: Final = "statisticGroup"
    CURRENCY: Final = "currency"


SALE: Final = "SALE"
REFUND: Final = "REFUND"
VOIDING_TYPES: Final = frozenset({"VOID", "CANCEL"})
BOOKKEEPING_TYPES: Final = frozenset(
    {"RECALL", "SPLIT", "UPDATE", "TRANSFER", "CROSS_BL", "FLOAT", "TRANSITORY"}
)
SALE_TYPES: Final = (SALE, REFUND, *sorted(VOIDING_TYPES), *sorted(BOOKKEEPING_TYPES))

_V2_WHY: Final = (
    "a FinancialV2 sales response (and a bare array of sales) names its business location only "
    "in the request URL (/f/v2/business-location/{businessLocationId}/sales)"
)


# ------------------------------------------------------------------------------ the document


@dataclass(frozen=True)
class _Target:
    """Where a record's sales go: a restaurant, or a reason to reject the record."""

    restaurant: RestaurantInfo | None = None
    error: RecordError | None = None


def _location_text(value: Any) -> str | None:
    """A business location id as text, or None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
        return None
    return str(value).strip()


def _sales_of(path: Path, envelope: JsonObject, where: str) -> list[Any]:
    value = envelope.get(F.SALES)
    if not isinstance(value, list):
        raise ImportFileError(
            display_path(path),
            f"expected an array of sales, found {json_type(value)}",
            field=join(where, F.SALES),
        )
    return value


class _Document:
    """A file's sales, flattened, with the restaurant each one belongs to.

    :meth:`records` reads a decoded document, :meth:`stream` the file a sale at a time (a
    response's ``sales``) or a response at a time (an array of responses: pages). Each sale's
    restaurant is found by its position in the file (:meth:`target`): the sales of one response
    are one run of positions with one target.
    """

    def __init__(self, path: Path, ctx: ParseContext) -> None:
        self.path = path
        self.ctx = ctx
        self._starts: list[int] = []  # the first position of each run of one target
        self._runs: list[_Target | None] = []  # None: the file's restaurant
        self._count = 0
        self._file_target: _Target | None = None

    def records(self, document: Any) -> Iterator[Any]:
        """The sales of a decoded document, in file order."""
        if isinstance(document, dict):
            if F.SALES in document:
                yield from self._envelope(document, "", single=True)
            elif F.LINES in document:  # one sale (saleByExternalReference)
                yield self._add(document, self._file_restaurant())
            else:
                keys = ", ".join(sorted(document)[:8]) or "none"
                raise ImportFileError(
                    display_path(self.path),
                    "expected a Lightspeed sales response with a 'sales' array "
                    f"(found keys {keys})",
                    field=F.SALES,
                )
        elif isinstance(document, list):
            if any(_is_envelope(x) for x in document):
                for k, element in enumerate(document):
                    yield from self._element(element, k)
            else:  # an array of sales
                for sale in document:
                    yield self._add(sale, None)
        else:
            raise ImportFileError(
                display_path(self.path),
                f"expected a JSON object of Lightspeed sales, found {json_type(document)}",
            )

    def stream(self, encoding: str | None) -> Iterator[Any]:
        """The sales of :meth:`records`, decoded one at a time: a response's ``sales`` one sale
        at a time, an array of responses one response (a page) at a time, an array of sales one
        sale at a time. A single sale, a response without sales and a file ijson cannot read
        on are read whole (which names a problem exactly), from the sale the stream stopped at.
        """
        taken = 0
        head = head_text(self.path, 4096).lstrip("\ufeff \t\r\n")[:1]
        try:
            if head == "{":
                raw = first_item(self.path, encoding, F.LOCATION)
                target: _Target | Any | None = MISSING
                for sale in stream_items(self.path, encoding, join(F.SALES, "item")):
                    if target is MISSING:
                        location = None if raw is MISSING else raw
                        target = self._target(location, "", single=True)
                    taken += 1
                    yield self._add(sale, target)
            elif head == "[":
                envelopes = first_item(self.path, encoding, "item.sales") is not MISSING
                for k, element in enumerate(stream_items(self.path, encoding, "item")):
                    for record in self._element(element, k) if envelopes else (element,):
                        taken += 1
                        yield record if envelopes else self._add(record, None)
        except StreamFailed:
            pass
        else:
            if taken:
                return
        self._starts, self._runs, self._count = [], [], 0
        whole = self.records(load_document(self.path, encoding))
        for i, record in enumerate(whole):
            if i >= taken:
                yield record

    def target(self, position: int) -> _Target:
        """Where the sale at ``position`` goes (resolving the file's restaurant on first need)."""
        run = bisect.bisect_right(self._starts, position) - 1
        found = self._runs[run] if run >= 0 else None
        return found if found is not None else self._file_restaurant()

    def _add(self, record: Any, target: _Target | None) -> Any:
        if not self._runs or self._runs[-1] is not target:
            self._starts.append(self._count)
            self._runs.append(target)
        self._count += 1
        if target is None and isinstance(record, dict) and self._file_target is None:
            self._file_restaurant()  # fail early, for the whole file
        return record

    def _element(self, element: Any, k: int) -> Iterator[Any]:
        """The sales of element ``k`` of an array of responses (a non-response is one row,
        rejected)."""
        if _is_envelope(element):
            yield from self._envelope(element, f"[{k}]", single=False)
        else:
            reason = "expected a sales response object (with a 'sales' array)"
            yield self._add(element, _Target(error=RecordError(RECORD_FIELD, reason)))

    def _envelope(self, envelope: JsonObject, where: str, *, single: bool) -> Iterator[Any]:
        sales = _sales_of(self.path, envelope, where)
        raw = envelope.get(F.LOCATION)
        if not sales:
            self._location(raw, where)  # checked all the same
            return  # nothing to place: no restaurant needed
        target = self._target(raw, where, single=single)
        for sale in sales:
            yield self._add(sale, target)

    def _target(self, raw: Any, where: str, *, single: bool) -> _Target | None:
        """The target of a response's sales from its ``businessLocationId`` (None: the file's
        restaurant, resolved at the first sale).

        Raises:
            ImportFileError: a malformed id, or (``single``) no restaurant for it.
        """
        field_name = join(where, F.LOCATION)
        location = self._location(raw, where)
        if location is None:
            return None  # V2: the file's restaurant
        if single:
            info = resolve_file_restaurant(
                self.path, self.ctx, NAME, carried=((field_name, location),)
            )
            return _Target(restaurant=info)
        found = self.ctx.directory.by_location(NAME, location)
        if found is not None:
            return _Target(restaurant=found)
        return _Target(
            error=RecordError(
                field_name,
                f"unknown business location {location!r}: no restaurant has pos_provider "
                f"{NAME} and this pos_location_id",
            )
        )

    def _location(self, raw: Any, where: str) -> str | None:
        """A response's ``businessLocationId`` as text (None when absent or null).

        Raises:
            ImportFileError: it is not an id.
        """
        location = _location_text(raw)
        if raw is not None and location is None:
            raise ImportFileError(
                display_path(self.path),
                f"expected a business location id, found {json_type(raw)}",
                field=join(where, F.LOCATION),
            )
        return location

    def _file_restaurant(self) -> _Target:
        if self._file_target is None:
            info = resolve_file_restaurant(self.path, self.ctx, NAME, why=_V2_WHY)
            self._file_target = _Target(restaurant=info)
        return self._file_target


def _is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and F.SALES in value


# ------------------------------------------------------------------------------ a sale's values


def _first(obj: JsonObject, keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` present (not null) in ``obj``."""
    return next((k for k in keys if obj.get(k) is not None), None)


def _sale_type(sale: JsonObject) -> str:
    value = get_optional_text(sale, F.TYPE, "")
    if value is None:
        return SALE
    kind = value.upper()
    if kind not in SALE_TYPES:
        known = ", ".join(SALE_TYPES)
        raise RecordError(F.TYPE, f"unknown sale type {value!r} (expected one of {known})")
    return kind


def _order_id(sale: JsonObject) -> str:
    for key in (F.ACCOUNT_FISC_ID, F.RECEIPT_ID, F.ACCOUNT_REFERENCE):
        found = get_optional_id(sale, key, "")
        if found is not None:
            return found
    raise RecordError(F.ACCOUNT_FISC_ID, "missing (and no receiptId or accountReference either)")


def _opened(sale: JsonObject) -> tuple[str, str]:
    """The sale's opening time and its field; its closing time when it has no opening time."""
    key = _first(sale, F.OPENED) or _first(sale, F.CLOSED)
    if key is None:
        raise RecordError(F.OPENED[0], f"missing (nor {', '.join(F.OPENED[1:] + F.CLOSED)})")
    value = sale[key]
    if not isinstance(value, str) or not value.strip():
        raise RecordError(key, f"expected an ISO 8601 time, found {json_type(value)}")
    return value.strip(), key


def _covers(sale: JsonObject) -> int | None:
    """``nbCovers`` (a number, typed double by the spec), rounded to whole guests."""
    value = sale.get(F.COVERS)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            number = float(Decimal(value.strip()))
        except (InvalidOperation, ValueError):
            raise RecordError(F.COVERS, f"not a number: {value!r}") from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raise RecordError(F.COVERS, f"expected a number, found {json_type(value)}")
    if not math.isfinite(number) or not 0 <= number <= MAX_COUNT:
        raise RecordError(F.COVERS, f"not a plausible guest count: {value!r}")
    return math.floor(number + 0.5)


def _decimal(obj: JsonObject, key: str, at: str) -> Decimal:
    text = get_decimal(obj, key, at)
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise RecordError(join(at, key), f"not a valid amount: {text!r}") from None
    if not value.is_finite() or abs(value) >= MAX_MINOR:
        raise RecordError(join(at, key), f"not a valid amount: {text!r}")
    return value


def _tax_included(line: JsonObject, at: str) -> bool | None:
    """Whether the line's taxes are included in its amounts, from ``taxLines`` (None: not said)."""
    flags = [
        get_flag(t, F.TAX_INCLUDED, index(at, F.TAX_LINES, i))
        for i, t in enumerate(get_objects(line, F.TAX_LINES, at))
        if t.get(F.TAX_INCLUDED) is not None
    ]
    return any(flags) if flags else None


def _net(line: JsonObject, at: str) -> tuple[str, str]:
    """The line's net amount before tax (decimal text) and the key it came from.

    ``totalNetAmountWithoutTax`` when the line has it. Lines without it (iKentoo era) derive it
    from ``totalNetAmountWithTax`` minus ``taxAmount`` (unless ``taxLines`` say the taxes are not
    included) minus ``serviceCharge``, as the spec's example line does (11.00 - 1.6667 - 1.00 =
    8.33); a ``taxAmount`` larger than half of what is left cannot be a tax, and is taken as the
    amount without tax (as in the iKentoo-era documentation's example).
    """
    if line.get(F.NET) is not None:
        return get_decimal(line, F.NET, at), F.NET
    if line.get(F.GROSS) is None:
        raise RecordError(join(at, F.NET), f"missing (and no {F.GROSS} to derive it from)")
    amount = _decimal(line, F.GROSS, at)
    if line.get(F.SERVICE_CHARGE) is not None:
        amount -= _decimal(line, F.SERVICE_CHARGE, at)
    if _tax_included(line, at) is not False:
        if line.get(F.TAX) is None:
            raise RecordError(
                join(at, F.TAX),
                f"missing: the line has no {F.NET}, and {F.GROSS} includes tax",
            )
        tax = _decimal(line, F.TAX, at)
        if amount > 0 and tax * 2 > amount:
            # No tax is more than the net it is levied on (a rate over 100 %): such lines (the
            # iKentoo-era documentation's own example: 5.50 with tax, 0.50 service, taxAmount
            # 4.6296 = 5.00 / 1.08) carry the amount without tax in taxAmount.
            return format(tax, "f"), F.TAX
        amount -= tax
    return format(amount, "f"), F.GROSS


def _comp_basis(line: JsonObject, at: str) -> tuple[str | None, str]:
    """The first non-zero discount (else the list price): what makes a zero-net line a comp."""
    for key in (*F.COMP_BASIS, F.LIST_PRICE):
        text = get_optional_decimal(line, key, at)
        if text is None:
            continue
        try:
            if Decimal(text.strip()) == 0:
                continue
        except InvalidOperation:
            pass  # rejected with its field when the builder checks the amounts
        return text, key
    return None, ""


def _item(line: JsonObject, at: str) -> str:
    for key in F.ITEM:
        text = get_optional_text(line, key, at)
        if text is not None:
            return text
    raise RecordError(join(at, F.ITEM[0]), f"missing (nor {', '.join(F.ITEM[1:])})")


def _category(line: JsonObject, at: str) -> str | None:
    group = get_object(line, F.GROUP, at)
    name = None if group is None else get_optional_text(group, F.GROUP_NAME, join(at, F.GROUP))
    return name or get_optional_text(line, F.STATISTIC_GROUP, at)


def _voided_ids(ids: list[str], parents: list[str | None], voided: set[str]) -> set[str]:
    """Ids of lines voided themselves or whose parent (at any depth) is."""
    if not voided:
        return set()
    parent_of = dict(zip(ids, parents, strict=True))
    result: set[str] = set()
    for line_id in ids:
        seen: set[str] = set()
        node: str | None = line_id
        while node is not None and node not in seen:
            if node in voided:
                result.add(line_id)
                break
            seen.add(node)
            node = parent_of.get(node)
    return result


# ------------------------------------------------------------------------------ walking a sale


@dataclass(frozen=True)
class _Sale:
    """What a sale's lines inherit from it."""

    order_id: str
    opened: str
    opened_field: str
    kind: str
    void_all: bool
    currency: str


def _walk_sale(b: Builder, sale: JsonObject, restaurant: RestaurantInfo) -> None:
    """Adds one sale (an order) with its lines; bookkeeping records add nothing."""
    sale_type = _sale_type(sale)
    if sale_type in BOOKKEEPING_TYPES:
        return
    order_id = _order_id(sale)
    opened, opened_field = _opened(sale)
    b.add_order(restaurant, order_id, opened, opened_field, _covers(sale))
    lines = get_objects(sale, F.LINES, "", required=True)
    void_all = (
        sale_type in VOIDING_TYPES
        or get_flag(sale, F.CANCELLED, "")
        or get_optional_text(sale, F.VOID_REASON, "") is not None
    )
    context = _Sale(
        order_id=order_id,
        opened=opened,
        opened_field=opened_field,
        kind=c.KIND_REFUND if sale_type == REFUND else c.KIND_SALE,
        void_all=void_all,
        currency=restaurant.currency,
    )
    ats = [index("", F.LINES, i) for i in range(len(lines))]
    ids = [
        get_optional_id(line, F.LINE_ID, at) or f"{order_id}#{i + 1}"
        for i, (line, at) in enumerate(zip(lines, ats, strict=True))
    ]
    parents = [
        get_optional_id(line, F.PARENT_LINE_ID, at) for line, at in zip(lines, ats, strict=True)
    ]
    flagged = {
        line_id
        for line_id, line, at in zip(ids, lines, ats, strict=True)
        if get_optional_text(line, F.VOID_REASON, at) is not None
    }
    voided = _voided_ids(ids, parents, flagged)
    for line, at, line_id, parent in zip(lines, ats, ids, parents, strict=True):
        _walk_line(b, line, at, (line_id, parent, line_id in voided), context)


def _walk_line(
    b: Builder, line: JsonObject, at: str, ident: tuple[str, str | None, bool], sale: _Sale
) -> None:
    """Adds one sales line."""
    line_id, parent, voided = ident
    currency = get_optional_text(line, F.CURRENCY, at)
    if currency is not None and currency.upper() != sale.currency.upper():
        raise RecordError(
            join(at, F.CURRENCY),
            f"the line is in {currency}, the restaurant's currency is {sale.currency} "
            "(restaurants.csv)",
        )
    time_key = None if sale.kind == c.KIND_REFUND else _first(line, F.LINE_TIME)
    if time_key is None:
        ts, ts_field = sale.opened, sale.opened_field
    else:
        ts, ts_field = line[time_key], join(at, time_key)
    if not isinstance(ts, str):
        raise RecordError(ts_field, f"expected an ISO 8601 time, found {json_type(ts)}")
    amount, amount_key = _net(line, at)
    basis, basis_key = _comp_basis(line, at)
    b.add_line(
        Line(
            line_id=line_id,
            parent_line_id=parent,
            ts=ts,
            ts_field=ts_field,
            item=_item(line, at),
            category=_category(line, at),
            at=at,
            quantity=get_decimal(line, F.QUANTITY, at),
            quantity_key=F.QUANTITY,
            amount=amount,
            amount_key=amount_key,
            kind=c.KIND_VOID if sale.void_all or voided else sale.kind,
            comp_basis=basis,
            comp_basis_key=basis_key,
        )
    )


# ------------------------------------------------------------------------------ the adapter


def _head_markers() -> list[tuple[str, ...]]:
    """Key groups that mark a Lightspeed sales file in its first few KB."""
    lines = F.LINES
    return [
        (F.SALES, F.LOCATION),
        (F.SALES, lines),
        (F.LOCATION, lines),
        (F.SALES, F.NEXT_DAY),
        (F.SALES, F.COMPLETE),
        (F.SALES, F.NEXT_PAGE),
        *((lines, key) for key in (*F.OPENED, F.ACCOUNT_FISC_ID)),
    ]


class LightspeedAdapter:
    """Reads Lightspeed K-Series (and iKentoo) Financial API sales JSON."""

    name = NAME

    def sniff(self, path: Path, head: str) -> bool:
        """A JSON object or array with a response's keys (``sales`` with ``businessLocationId``,
        ``nextPageToken``, ``dataComplete``...) or a sale's (``salesLines`` with
        ``timeofOpening``, ``timeOfOpening`` or ``accountFiscId``)."""
        markers = _head_markers()
        return any(sniff_json(path, head, opener, markers) for opener in ("{", "["))

    def parse(self, path: Path, ctx: ParseContext) -> ParsedFile:
        """Reads the file; bad sales are rejected whole.

        Raises:
            ImportFileError: unreadable or invalid JSON, not a sales response, ``sales`` not an
                array, a malformed ``businessLocationId``, or no way to tell the restaurant of
                sales whose response does not name it.
        """
        document = _Document(path, ctx)
        records = list(document.records(load_document(path, ctx.encoding)))
        builder = Builder(NAME, ctx.directory, TimeFormat.ISO, minor_units=False)
        builder.run(records, _walker(document))
        return builder.finish(path)

    def parse_chunks(self, path: Path, ctx: ParseContext, size: int) -> Iterator[ParsedFile]:
        """Reads the file a chunk at a time, streaming it (see :meth:`_Document.stream`): the
        frames of :meth:`parse`, cut into chunks, in memory one chunk at a time."""
        document = _Document(path, ctx)
        builder = Builder(NAME, ctx.directory, TimeFormat.ISO, minor_units=False)
        yield from builder.run_chunks(document.stream(ctx.encoding), _walker(document), path, size)


def _walker(document: _Document) -> Callable[[Builder, JsonObject], None]:
    def walk(b: Builder, sale: JsonObject) -> None:
        target = document.target(b.position)
        if target.error is not None:
            raise target.error
        assert target.restaurant is not None
        _walk_sale(b, sale, target.restaurant)

    return walk


ADAPTER = LightspeedAdapter()
