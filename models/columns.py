"""Column names used across Flux, defined once.

Every frame, table and file that Flux reads or writes names its columns through these constants.
"""

from typing import Final

# Identity and time
RESTAURANT_ID: Final = "restaurant_id"
TENANT_ID: Final = "tenant_id"  # the restaurant group a row belongs to (see docs/tenancy.md)
SOURCE: Final = "source"
ORDER_ID: Final = "order_id"
LINE_ID: Final = "line_id"
PARENT_LINE_ID: Final = "parent_line_id"
TS_UTC: Final = "ts_utc"
OPENED_AT_UTC: Final = "opened_at_utc"
BUSINESS_DATE: Final = "business_date"
SLOT_START_UTC: Final = "slot_start_utc"

# Order lines
ITEM: Final = "item"
CATEGORY: Final = "category"
QUANTITY: Final = "quantity"
NET_AMOUNT_MINOR: Final = "net_amount_minor"
CURRENCY: Final = "currency"
KIND: Final = "kind"
COVERS: Final = "covers"

# Line kinds
KIND_SALE: Final = "sale"
KIND_VOID: Final = "void"
KIND_REFUND: Final = "refund"
KIND_COMP: Final = "comp"
LINE_KINDS: Final = (KIND_SALE, KIND_VOID, KIND_REFUND, KIND_COMP)
DEMAND_KINDS: Final = (KIND_SALE, KIND_COMP)

# Demand measures (rollups) and targets
ORDERS: Final = "orders"
NET_SALES: Final = "net_sales"
NET_SALES_MINOR: Final = "net_sales_minor"
VISITORS: Final = "visitors"
SERIES_TARGETS: Final = (COVERS, ORDERS, NET_SALES, VISITORS)
"""Targets a pre-aggregated series may carry (net_sales in currency units, not minor units)."""

# Pre-aggregated observations
DATE: Final = "date"
TARGET: Final = "target"
VALUE: Final = "value"

# Restaurants
NAME: Final = "name"
TIMEZONE: Final = "timezone"
COUNTRY: Final = "country"
SUBDIVISION: Final = "subdivision"
CUTOFF_HOUR: Final = "cutoff_hour"
POS_PROVIDER: Final = "pos_provider"
POS_LOCATION_ID: Final = "pos_location_id"

# Calendar events
EVENT_KIND: Final = "kind"
START_DATE: Final = "start_date"
END_DATE: Final = "end_date"
LOWER_WINDOW: Final = "lower_window"
UPPER_WINDOW: Final = "upper_window"
EVENT_CLOSURE: Final = "closure"
EVENT_HOLIDAY: Final = "holiday"
EVENT_LOCAL: Final = "event"
EVENT_KINDS: Final = (EVENT_CLOSURE, EVENT_HOLIDAY, EVENT_LOCAL)
EVENT_COLUMNS: Final = (
    RESTAURANT_ID,  # None: the event applies to every restaurant
    EVENT_KIND,
    NAME,
    START_DATE,
    END_DATE,  # inclusive
    LOWER_WINDOW,
    UPPER_WINDOW,
)
"""A calendar event's columns, in order: what imports produce, the database stores, models read."""

# Regressors (exogenous drivers: weather, reservations, promotions, events with a size)
SLOT: Final = "slot"  # "HH:MM" of a 15-minute slot, "" for a whole day's value
KNOWN_IN_ADVANCE: Final = "known_in_advance"
ALL_RESTAURANTS: Final = "*"  # a regressor row's restaurant_id when it applies to every one
REGRESSOR_COLUMNS: Final = (RESTAURANT_ID, DATE, SLOT, NAME, VALUE, KNOWN_IN_ADVANCE)
"""A regressor value's columns: what the ``regressors`` import produces and the database stores."""

# Rejects
REJECT_ROW: Final = "row"
REJECT_FIELD: Final = "field"
REJECT_REASON: Final = "reason"
REJECT_RAW: Final = "raw"

# Series and forecasts
DS: Final = "ds"
Y: Final = "y"
CUTOFF: Final = "cutoff"
MODEL: Final = "model"
YHAT: Final = "yhat"
YHAT_LOWER: Final = "yhat_lower"
YHAT_UPPER: Final = "yhat_upper"
