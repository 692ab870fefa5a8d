#!/usr/bin/env python3
"""Deterministic sample-data generator for Flux.

Simulates one canonical set of orders per sample restaurant (opening instant, guests, lines with
item, category, quantity, net amount in minor units, kind, modifiers as child lines, refunds dated
later), serialises it into the vendor export formats described in ``docs/formats.md``, and computes
``ground_truth.csv`` from the canonical data with the rules of that document's "Demand" section.

It is standalone on purpose (standard library, numpy, pandas and ``holidays`` only; nothing from
``pipelines``, ``models`` or ``flux_cli``): its ground truth is the independent oracle the importer
tests compare against. The output is byte-for-byte deterministic for a seed.

Usage::

    python sample_data/generate.py                                   # the committed sample data
    python sample_data/generate.py --out /tmp/s --start 2025-03-01 --days 14 --restaurants r01,r04
    python sample_data/generate.py --fleet 100 --fleet-format square --days 365 --out /tmp/fleet
"""

from __future__ import annotations

import argparse
import base64
import csv
import gzip
import io
import itertools
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import holidays
import numpy as np
import pandas as pd

DEFAULT_START = date(2024, 10, 1)
DEFAULT_DAYS = 730  # business dates 2024-10-01 .. 2026-09-30
DEFAULT_SEED = 7
HERE = Path(__file__).resolve().parent
EPOCH = date(1970, 1, 1)

SALE, COMP, VOID = 0, 1, 2
KIND_NAMES = ("sale", "comp", "void")
ROLES = ("drink", "starter", "main", "side", "dessert", "retail")
R_DRINK, R_STARTER, R_MAIN, R_SIDE, R_DESSERT, R_RETAIL = range(6)

TRUTH_COLUMNS = (
    "restaurant_id",
    "business_date",
    "covers",
    "orders",
    "net_sales_minor",
    "item_quantity",
)
RESTAURANT_COLUMNS = (
    "restaurant_id",
    "name",
    "timezone",
    "country",
    "subdivision",
    "cutoff_hour",
    "pos_provider",
    "pos_location_id",
    "currency",
)
EVENT_COLUMNS = (
    "restaurant_id",
    "kind",
    "name",
    "start_date",
    "end_date",
    "lower_window",
    "upper_window",
)
SQUARE_HEADER = (  # the Items export as of July 2026 (35 columns), verbatim
    "Date",
    "Time",
    "Time Zone",
    "Category",
    "Item",
    "Qty",
    "Price Point Name",
    "SKU",
    "Modifiers Applied",
    "Gross Sales",
    "Discounts",
    "Net Sales",
    "Tax",
    "Transaction ID",
    "Payment ID",
    "Device Name",
    "Notes",
    "Details",
    "Event Type",
    "Location",
    "Dining Option",
    "Customer ID",
    "Customer Name",
    "Customer Reference ID",
    "Unit",
    "Count",
    "GTIN",
    "Itemization Type",
    "Commission",
    "Employee",
    "Fulfillment Note",
    "Channel",
    "Token",
    "Card Brand",
    "PAN Suffix",
)
SQUARE_DETAILS = "https://app.squareup.com/dashboard/sales/transactions/{txn}/by-unit/{location}"
SQUARE_PAGE_SIZE = 500  # SearchOrders' default page size
CURRENCY_EXPONENT = {"JPY": 0}
CURRENCY_SYMBOL = {"USD": "$", "EUR": "€", "CAD": "$", "AUD": "$", "JPY": "¥"}
VOID_REASONS = ("Wrong item", "Customer changed mind", "Kitchen error", "Entered twice")
RETURN_REASONS = ("Food quality", "Wrong order", "Customer complaint", "Overcharged")
B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)
B36 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)


# --------------------------------------------------------------------------------------------
# Restaurants and menus
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    name: str
    category: str
    role: int
    price: int  # minor units (per unit; per kg/lb for weighed items)
    weight: float = 1.0  # popularity within its role
    multi: bool = False  # often ordered in quantities (tacos, beers)
    weighed: bool = False  # sold by weight (Clover unitQty)


@dataclass(frozen=True)
class Restaurant:
    id: str
    name: str
    timezone: str
    country: str
    subdivision: str
    cutoff_hour: int
    pos_provider: str
    pos_location_id: str
    currency: str
    slug: str
    base_orders: float
    dow: tuple[float, ...]  # Monday..Sunday demand factors
    season_amp: float
    season_peak_doy: int
    trend: float  # relative growth per year
    hours: tuple[tuple[tuple[float, float], ...], ...]  # per weekday: open windows (hours)
    peaks: tuple[tuple[float, float, float], ...]  # (centre hour, sd hours, weight)
    guests_p: tuple[float, ...]  # P(guests = 1, 2, ...)
    role_rates: tuple[float, ...]  # per guest, indexed by role
    menu: tuple[Item, ...]
    modifiers: dict[int, tuple[tuple[str, int], ...]]  # role -> (name, price per unit)
    mod_rates: dict[int, float]
    mod_group: str
    tax_bp: int
    dine_in_rate: float
    visit_minutes: float
    holiday_closures: frozenset[str] = frozenset()
    holiday_factor: float = 1.0
    valentine: float = 1.0
    nye: float = 1.0
    closed_weekdays: frozenset[int] = frozenset()
    promo_rate: float = 0.05
    addon_rate: float = 0.0  # late add-on lines (formats with per-line timestamps only)
    square_tz_name: str = ""
    square_location_name: str = ""  # Square's location name (the Items export's Location)
    square_export: str = "items"  # items (dashboard Items CSV) | orders (SearchOrders JSON)
    number: int = 0

    @property
    def has_covers(self) -> bool:
        return self.pos_provider not in ("square", "clover")

    @property
    def per_unit_lines(self) -> bool:  # Clover writes one line item per unit sold by count
        return self.pos_provider == "clover"

    @property
    def line_times(self) -> bool:  # formats with a timestamp per line
        return self.pos_provider in ("revel", "csv")

    @property
    def minute_times(self) -> bool:  # the generic mapping's timestamp_format has minutes only
        return self.pos_provider == "csv"


def _w(
    days: dict[str, tuple[tuple[float, float], ...]],
) -> tuple[tuple[tuple[float, float], ...], ...]:
    order = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return tuple(days.get(d, days.get("*", ())) for d in order)


D, S, M, SD, DS, RT = R_DRINK, R_STARTER, R_MAIN, R_SIDE, R_DESSERT, R_RETAIL

R01 = Restaurant(
    id="r01",
    name="Harbor Grill",
    timezone="America/New_York",
    country="US",
    subdivision="NY",
    cutoff_hour=4,
    pos_provider="toast",
    pos_location_id="6f1c2a8e-3b4d-4e5f-9a7b-1c2d3e4f5a6b",
    currency="USD",
    slug="harbor_grill",
    base_orders=26,
    dow=(0.75, 0.8, 0.9, 1.0, 1.35, 1.45, 1.0),
    season_amp=0.12,
    season_peak_doy=200,
    trend=0.05,
    hours=_w(
        {
            "*": ((11.5, 23.0),),
            "fri": ((11.5, 26.0),),
            "sat": ((11.5, 26.0),),
            "sun": ((11.0, 22.0),),
        }
    ),
    peaks=((12.75, 0.8, 0.35), (19.25, 1.3, 0.55), (24.0, 1.0, 0.10)),
    guests_p=(0.18, 0.42, 0.14, 0.16, 0.05, 0.05),
    role_rates=(0.55, 0.18, 0.95, 0.1, 0.12, 0.0),
    menu=(
        Item("Clam Chowder", "Starters", S, 1100, 3),
        Item("Crispy Calamari", "Starters", S, 1600, 3),
        Item("Oysters (Half Dozen)", "Raw Bar", S, 2100, 2),
        Item("Caesar Salad", "Starters", S, 1400, 2),
        Item("Tuna Tartare", "Starters", S, 1900, 1),
        Item("Grilled Salmon", "Entrees", M, 3200, 4),
        Item("Lobster Roll", "Entrees", M, 3400, 4),
        Item("Fish & Chips", "Entrees", M, 2600, 4),
        Item("Seared Scallops", "Entrees", M, 3800, 2),
        Item("NY Strip Steak", "Entrees", M, 4200, 2),
        Item("Harbor Burger", "Entrees", M, 2200, 3),
        Item("Linguine alle Vongole", "Entrees", M, 2800, 2),
        Item("Blackened Cod", "Entrees", M, 2900, 2),
        Item("Hand-Cut Fries", "Sides", SD, 800, 3),
        Item("Grilled Asparagus", "Sides", SD, 1000, 1),
        Item("Mac & Cheese", "Sides", SD, 1100, 2),
        Item("Draft IPA", "Beer", D, 900, 4, multi=True),
        Item("House Chardonnay", "Wine", D, 1400, 3),
        Item("Old Fashioned", "Cocktails", D, 1600, 2),
        Item("Espresso Martini", "Cocktails", D, 1700, 2),
        Item("Sparkling Water", "Non-Alcoholic", D, 500, 2),
        Item("Iced Tea", "Non-Alcoholic", D, 450, 2),
        Item("Key Lime Pie", "Desserts", DS, 1100, 2),
        Item("Chocolate Lava Cake", "Desserts", DS, 1200, 2),
    ),
    modifiers={
        M: (
            ("Add Shrimp", 900),
            ("Add Bacon", 300),
            ("No Butter", 0),
            ("Sauce on the Side", 0),
            ("Sub Side Salad", 200),
        ),
        S: (("Extra Lemon", 0), ("Add Crostini", 150)),
        D: (("Make it a Double", 600), ("No Ice", 0)),
    },
    mod_rates={M: 0.3, S: 0.1, D: 0.08},
    mod_group="Add-ons",
    tax_bp=888,
    dine_in_rate=0.85,
    visit_minutes=70,
    holiday_closures=frozenset({"Thanksgiving Day", "Christmas Day"}),
    holiday_factor=0.85,
    valentine=1.3,
    nye=1.3,
    promo_rate=0.05,
    number=1,
)

R02 = Restaurant(
    id="r02",
    name="Mission Taqueria",
    timezone="America/Los_Angeles",
    country="US",
    subdivision="CA",
    cutoff_hour=3,
    pos_provider="square",
    pos_location_id="L8WQ2ZJ5T1M0A",  # a Square location id
    currency="USD",
    slug="mission_taqueria",
    base_orders=42,
    dow=(0.85, 0.85, 0.9, 0.95, 1.25, 1.35, 1.1),
    season_amp=0.06,
    season_peak_doy=190,
    trend=0.08,
    hours=_w({"*": ((10.0, 26.0),), "fri": ((10.0, 27.5),), "sat": ((10.0, 27.5),)}),
    peaks=((12.5, 1.0, 0.35), (18.75, 1.5, 0.45), (25.0, 1.3, 0.20)),
    guests_p=(0.45, 0.35, 0.12, 0.08),
    role_rates=(0.45, 0.0, 1.0, 0.25, 0.04, 0.0),
    menu=(
        Item("Carne Asada Burrito", "Burritos", M, 1350, 5),
        Item("Super Burrito", "Burritos", M, 1450, 4),
        Item("Veggie Burrito", "Burritos", M, 1150, 2),
        Item("Al Pastor Taco", "Tacos", M, 425, 5, multi=True),
        Item("Carnitas Taco", "Tacos", M, 425, 4, multi=True),
        Item("Pollo Asado Taco", "Tacos", M, 400, 3, multi=True),
        Item("Fish Taco", "Tacos", M, 475, 2, multi=True),
        Item("Quesadilla", "Plates", M, 1050, 2),
        Item("Carne Asada Plate", "Plates", M, 1695, 1),
        Item("Nachos Supreme", "Plates", M, 1250, 2),
        Item("Chips & Salsa", "Sides", SD, 450, 4),
        Item("Guacamole", "Sides", SD, 575, 3),
        Item("Elote", "Sides", SD, 550, 2),
        Item("Rice & Beans", "Sides", SD, 400, 2),
        Item("Horchata", "Drinks", D, 450, 4),
        Item("Jarritos", "Drinks", D, 375, 3),
        Item("Mexican Coke", "Drinks", D, 425, 3),
        Item("Agua Fresca", "Drinks", D, 450, 2),
        Item("Modelo Especial", "Beer", D, 700, 2, multi=True),
        Item("Margarita", "Beer", D, 1200, 1),
        Item("Churros", "Desserts", DS, 600, 1),
    ),
    modifiers={
        M: (
            ("Add Guacamole", 250),
            ("Add Cheese", 100),
            ("No Onions", 0),
            ("No Cilantro", 0),
            ("Extra Salsa", 0),
            ("Make it Super", 250),
        ),
        D: (("Large", 100),),
    },
    mod_rates={M: 0.35, D: 0.1},
    mod_group="Modifiers",
    tax_bp=863,
    dine_in_rate=0.55,
    visit_minutes=8,
    holiday_closures=frozenset({"Thanksgiving Day", "Christmas Day"}),
    holiday_factor=1.15,
    valentine=1.0,
    nye=1.1,
    promo_rate=0.03,
    square_tz_name="Pacific Time (US & Canada)",
    square_location_name="Mission Taqueria - Valencia St",
    number=2,
)

R03 = Restaurant(
    id="r03",
    name="Le Petit Zinc",
    timezone="Europe/Paris",
    country="FR",
    subdivision="",
    cutoff_hour=5,
    pos_provider="lightspeed",
    pos_location_id="158796341233665",
    currency="EUR",
    slug="le_petit_zinc",
    base_orders=26,
    dow=(0.8, 0.85, 0.95, 1.0, 1.3, 1.4, 0.9),
    season_amp=0.10,
    season_peak_doy=160,
    trend=0.02,
    hours=_w({"*": ((12.0, 14.5), (19.0, 23.5))}),
    peaks=((12.9, 0.6, 0.4), (20.5, 1.0, 0.6)),
    guests_p=(0.12, 0.5, 0.14, 0.16, 0.04, 0.04),
    role_rates=(0.7, 0.3, 1.0, 0.0, 0.3, 0.0),
    menu=(
        Item("Soupe à l'oignon", "Entrées", S, 950, 3),
        Item("Escargots (6)", "Entrées", S, 1400, 2),
        Item("Terrine maison", "Entrées", S, 1100, 2),
        Item("Salade de chèvre chaud", "Entrées", S, 1250, 2),
        Item("Steak frites", "Plats", M, 2450, 5),
        Item("Confit de canard", "Plats", M, 2350, 4),
        Item("Bœuf bourguignon", "Plats", M, 2400, 3),
        Item("Moules marinière", "Plats", M, 1950, 3),
        Item("Croque-monsieur", "Plats", M, 1400, 2),
        Item("Sole meunière", "Plats", M, 3200, 1),
        Item("Plat du jour", "Plats", M, 1800, 4),
        Item("Crème brûlée", "Desserts", DS, 900, 3),
        Item("Tarte Tatin", "Desserts", DS, 950, 2),
        Item("Mousse au chocolat", "Desserts", DS, 850, 2),
        Item("Café gourmand", "Desserts", DS, 1050, 2),
        Item("Verre de Bordeaux", "Vins", D, 750, 4, multi=True),
        Item("Pichet de rosé", "Vins", D, 1600, 2),
        Item("Kir", "Apéritifs", D, 650, 2),
        Item("Demi pression", "Bières", D, 550, 2, multi=True),
        Item("Café", "Boissons chaudes", D, 250, 3, multi=True),
        Item("Café crème", "Boissons chaudes", D, 450, 1),
        Item("Evian 50cl", "Eaux", D, 500, 2),
    ),
    modifiers={
        M: (
            ("Cuisson saignant", 0),
            ("Cuisson à point", 0),
            ("Supplément frites", 300),
            ("Sauce au poivre", 250),
        ),
        DS: (("Boule de glace", 200),),
    },
    mod_rates={M: 0.35, DS: 0.1},
    mod_group="Suppléments",
    tax_bp=1000,
    dine_in_rate=0.95,
    visit_minutes=85,
    holiday_closures=frozenset({"New Year's Day", "Labor Day", "Christmas Day"}),
    holiday_factor=0.9,
    valentine=1.35,
    nye=1.4,
    promo_rate=0.02,
    number=3,
)

R04 = Restaurant(
    id="r04",
    name="Night Owl Diner",
    timezone="America/Chicago",
    country="US",
    subdivision="IL",
    cutoff_hour=6,
    pos_provider="clover",
    pos_location_id="7RZK2M4QX9WBA",
    currency="USD",
    slug="night_owl_diner",
    base_orders=34,
    dow=(0.8, 0.8, 0.85, 0.95, 1.4, 1.6, 1.0),
    season_amp=0.05,
    season_peak_doy=20,
    trend=0.04,
    hours=_w({"*": ((17.0, 29.0),)}),
    peaks=((19.5, 1.3, 0.5), (25.5, 1.6, 0.5)),
    guests_p=(0.35, 0.4, 0.15, 0.1),
    role_rates=(0.55, 0.0, 0.95, 0.25, 0.1, 0.0),
    menu=(
        Item("Classic Cheeseburger", "Burgers", M, 1395, 5),
        Item("Patty Melt", "Burgers", M, 1295, 3),
        Item("Chicken & Waffles", "Plates", M, 1595, 3),
        Item("Steak & Eggs", "Plates", M, 1895, 2),
        Item("Biscuits & Gravy", "Breakfast", M, 995, 3),
        Item("Denver Omelette", "Breakfast", M, 1195, 2),
        Item("Pancake Stack", "Breakfast", M, 995, 3),
        Item("Club Sandwich", "Sandwiches", M, 1295, 2),
        Item("Chili Cheese Fries", "Plates", M, 1095, 2),
        Item("Grilled Cheese & Tomato Soup", "Sandwiches", M, 1095, 2),
        Item("Hash Browns", "Sides", SD, 495, 3),
        Item("Onion Rings", "Sides", SD, 595, 2),
        Item("Side of Bacon", "Sides", SD, 450, 2),
        Item("Bottomless Coffee", "Drinks", D, 350, 5),
        Item("Chocolate Milkshake", "Drinks", D, 750, 2),
        Item("Fountain Soda", "Drinks", D, 300, 3),
        Item("Orange Juice", "Drinks", D, 425, 1),
        Item("Apple Pie Slice", "Desserts", DS, 650, 2),
        Item("Cherry Pie Slice", "Desserts", DS, 650, 1),
        Item("House Coffee Beans (lb)", "Retail", RT, 1600, 1, weighed=True),
    ),
    modifiers={
        M: (
            ("Add Bacon", 250),
            ("Add Egg", 200),
            ("Extra Cheese", 150),
            ("No Onions", 0),
            ("Sub Sweet Potato Fries", 100),
        ),
        D: (("Whipped Cream", 0), ("Oat Milk", 75)),
        DS: (("À la Mode", 250),),
    },
    mod_rates={M: 0.3, D: 0.08, DS: 0.3},
    mod_group="Modifiers",
    tax_bp=1025,
    dine_in_rate=0.8,
    visit_minutes=40,
    holiday_factor=1.1,
    valentine=0.95,
    nye=1.5,
    promo_rate=0.04,
    number=4,
)

R05 = Restaurant(
    id="r05",
    name="Maple & Rye",
    timezone="America/Toronto",
    country="CA",
    subdivision="ON",
    cutoff_hour=4,
    pos_provider="revel",
    pos_location_id="12",
    currency="CAD",
    slug="maple_rye",
    base_orders=27,
    dow=(0.7, 0.8, 0.9, 1.0, 1.35, 1.4, 1.1),
    season_amp=0.08,
    season_peak_doy=350,
    trend=-0.03,
    hours=_w(
        {
            "*": ((11.5, 23.0),),
            "fri": ((11.5, 25.0),),
            "sat": ((11.5, 25.0),),
            "sun": ((10.0, 22.0),),
        }
    ),
    peaks=((12.5, 0.8, 0.3), (19.0, 1.3, 0.6), (11.0, 0.8, 0.1)),
    guests_p=(0.1, 0.45, 0.15, 0.2, 0.05, 0.05),
    role_rates=(0.65, 0.25, 1.0, 0.12, 0.2, 0.0),
    menu=(
        Item("Poutine", "Starters", S, 1400, 3),
        Item("Charcuterie Board", "Starters", S, 2400, 2),
        Item("Beet Salad", "Starters", S, 1500, 2),
        Item("Smoked Trout Dip", "Starters", S, 1600, 1),
        Item("Maple Glazed Salmon", "Mains", M, 3100, 4),
        Item("Braised Short Rib", "Mains", M, 3600, 3),
        Item("Rye Burger", "Mains", M, 2300, 4),
        Item("Mushroom Risotto", "Mains", M, 2600, 2),
        Item("Half Roast Chicken", "Mains", M, 2900, 3),
        Item("Steak Frites", "Mains", M, 3800, 2),
        Item("Truffle Fries", "Sides", SD, 900, 3),
        Item("Seasonal Greens", "Sides", SD, 800, 1),
        Item("Caesar Cocktail", "Cocktails", D, 1400, 3),
        Item("Rye Old Fashioned", "Cocktails", D, 1700, 2),
        Item("Local Lager", "Beer", D, 900, 4, multi=True),
        Item("Glass of Riesling", "Wine", D, 1300, 2),
        Item("Sparkling Water", "Non-Alcoholic", D, 500, 2),
        Item("Coffee", "Non-Alcoholic", D, 400, 2),
        Item("Butter Tart", "Desserts", DS, 900, 2),
        Item("Sticky Toffee Pudding", "Desserts", DS, 1200, 2),
        Item("Maple Crème Brûlée", "Desserts", DS, 1100, 2),
    ),
    modifiers={
        M: (("Add Side Caesar", 600), ("Gluten Free", 0), ("Sauce on the Side", 0)),
        D: (("Make it a Double", 600),),
        S: (("Extra Bread", 300),),
    },
    mod_rates={M: 0.25, D: 0.08, S: 0.1},
    mod_group="Modifiers",
    tax_bp=1300,
    dine_in_rate=0.9,
    visit_minutes=80,
    holiday_closures=frozenset({"Christmas Day", "New Year's Day"}),
    holiday_factor=0.9,
    valentine=1.3,
    nye=1.3,
    promo_rate=0.05,
    addon_rate=0.12,
    number=5,
)

R06 = Restaurant(
    id="r06",
    name="Sakura Ramen",
    timezone="Asia/Tokyo",
    country="JP",
    subdivision="",
    cutoff_hour=4,
    pos_provider="csv",
    pos_location_id="",
    currency="JPY",
    slug="sakura_ramen",
    base_orders=50,
    dow=(0.9, 0.9, 0.95, 1.0, 1.3, 1.35, 1.05),
    season_amp=0.10,
    season_peak_doy=15,
    trend=0.10,
    hours=_w(
        {
            "*": ((11.0, 15.0), (17.0, 24.0)),
            "fri": ((11.0, 15.0), (17.0, 28.5)),
            "sat": ((11.0, 15.0), (17.0, 28.5)),
        }
    ),
    peaks=((12.3, 0.7, 0.4), (19.5, 1.5, 0.45), (26.0, 1.5, 0.15)),
    guests_p=(0.55, 0.3, 0.1, 0.05),
    role_rates=(0.45, 0.0, 1.0, 0.35, 0.04, 0.0),
    menu=(
        Item("醤油ラーメン", "ラーメン", M, 950, 5),
        Item("味噌ラーメン", "ラーメン", M, 1050, 4),
        Item("豚骨ラーメン", "ラーメン", M, 1000, 5),
        Item("塩ラーメン", "ラーメン", M, 950, 2),
        Item("つけ麺", "ラーメン", M, 1100, 3),
        Item("辛味噌ラーメン", "ラーメン", M, 1150, 2),
        Item("担々麺", "ラーメン", M, 1100, 2),
        Item("チャーシュー麺", "ラーメン", M, 1350, 2),
        Item("餃子", "サイドメニュー", SD, 450, 5),
        Item("チャーハン", "サイドメニュー", SD, 600, 3),
        Item("ライス", "サイドメニュー", SD, 200, 2),
        Item("唐揚げ", "サイドメニュー", SD, 550, 2),
        Item("チャーシュー丼", "サイドメニュー", SD, 450, 1),
        Item("生ビール", "ドリンク", D, 600, 4, multi=True),
        Item("ハイボール", "ドリンク", D, 500, 2, multi=True),
        Item("レモンサワー", "ドリンク", D, 480, 2, multi=True),
        Item("ウーロン茶", "ドリンク", D, 300, 2),
        Item("コーラ", "ドリンク", D, 300, 1),
        Item("杏仁豆腐", "デザート", DS, 350, 1),
    ),
    modifiers={
        M: (
            ("味玉", 150),
            ("大盛り", 150),
            ("替え玉", 150),
            ("ネギ多め", 100),
            ("メンマ", 100),
            ("ネギ抜き", 0),
            ("麺かため", 0),
        )
    },
    mod_rates={M: 0.45},
    mod_group="トッピング",
    tax_bp=1000,
    dine_in_rate=0.95,
    visit_minutes=25,
    holiday_factor=1.15,
    valentine=0.9,
    nye=0.7,
    promo_rate=0.02,
    addon_rate=0.15,
    number=6,
)

R07 = Restaurant(
    id="r07",
    name="Harbour Fish Bar",
    timezone="Australia/Sydney",
    country="AU",
    subdivision="NSW",
    cutoff_hour=4,
    pos_provider="lightspeed",
    pos_location_id="7700112",
    currency="AUD",
    slug="harbour_fish_bar",
    base_orders=36,
    dow=(0.0, 0.8, 0.85, 0.95, 1.3, 1.5, 1.3),
    season_amp=0.18,
    season_peak_doy=15,
    trend=0.03,
    hours=_w({"*": ((11.5, 21.5),), "mon": ()}),
    peaks=((12.75, 0.9, 0.45), (18.5, 1.2, 0.55)),
    guests_p=(0.2, 0.4, 0.15, 0.2, 0.05),
    role_rates=(0.5, 0.12, 0.95, 0.2, 0.1, 0.0),
    menu=(
        Item("Beer-Battered Flathead & Chips", "Mains", M, 2800, 6),
        Item("Grilled Barramundi", "Mains", M, 3400, 3),
        Item("Fish Tacos (3)", "Mains", M, 2400, 3),
        Item("Salt & Pepper Squid", "Mains", M, 2600, 3),
        Item("Seafood Platter for Two", "Mains", M, 9800, 1),
        Item("Prawn Roll", "Mains", M, 2600, 2),
        Item("Grilled Snapper", "Mains", M, 3600, 2),
        Item("Kids Fish & Chips", "Mains", M, 1400, 2),
        Item("Sydney Rock Oysters (6)", "Starters", S, 2700, 2),
        Item("Prawn Cocktail", "Starters", S, 2200, 1),
        Item("Chips", "Sides", SD, 800, 3),
        Item("Greek Salad", "Sides", SD, 1200, 1),
        Item("Potato Scallops (3)", "Sides", SD, 700, 2),
        Item("Schooner of Pale Ale", "Beer & Wine", D, 1100, 4, multi=True),
        Item("Glass of Sauvignon Blanc", "Beer & Wine", D, 1300, 3),
        Item("Lemon Lime & Bitters", "Soft Drinks", D, 650, 2),
        Item("Flat White", "Coffee", D, 500, 2),
        Item("Sparkling Water", "Soft Drinks", D, 600, 1),
        Item("Pavlova", "Desserts", DS, 1400, 2),
        Item("Lamington", "Desserts", DS, 800, 1),
    ),
    modifiers={
        M: (
            ("Grilled not Battered", 0),
            ("Extra Tartare Sauce", 150),
            ("Add Chips", 600),
            ("Gluten-Free Batter", 300),
        ),
        D: (("Oat Milk", 80), ("No Ice", 0)),
    },
    mod_rates={M: 0.3, D: 0.06},
    mod_group="Extras",
    tax_bp=1000,
    dine_in_rate=0.7,
    visit_minutes=50,
    holiday_closures=frozenset({"Good Friday", "Christmas Day"}),
    holiday_factor=1.2,
    valentine=1.15,
    nye=1.2,
    closed_weekdays=frozenset({0}),
    promo_rate=0.04,
    number=7,
)

R08 = Restaurant(
    id="r08",
    name="Brauhaus Mitte",
    timezone="Europe/Berlin",
    country="DE",
    subdivision="BE",
    cutoff_hour=4,
    pos_provider="square",
    pos_location_id="LB7Q2M9XH3K4T",  # a Square location id
    currency="EUR",
    slug="brauhaus_mitte",
    base_orders=33,
    dow=(0.8, 0.85, 0.9, 1.0, 1.35, 1.45, 1.1),
    season_amp=0.10,
    season_peak_doy=280,
    trend=0.06,
    hours=_w({"*": ((11.5, 24.0),), "fri": ((11.5, 26.0),), "sat": ((11.5, 26.0),)}),
    peaks=((12.75, 1.0, 0.3), (19.5, 1.6, 0.6), (23.5, 1.2, 0.1)),
    guests_p=(0.12, 0.38, 0.15, 0.2, 0.07, 0.08),
    role_rates=(0.85, 0.12, 0.95, 0.15, 0.1, 0.0),
    menu=(
        Item("Schweinshaxe", "Hauptgerichte", M, 2290, 4),
        Item("Wiener Schnitzel", "Hauptgerichte", M, 2490, 4),
        Item("Currywurst mit Pommes", "Hauptgerichte", M, 1190, 4),
        Item("Käsespätzle", "Hauptgerichte", M, 1450, 3),
        Item("Sauerbraten", "Hauptgerichte", M, 2190, 2),
        Item("Bratwurst-Teller", "Hauptgerichte", M, 1390, 3),
        Item("Rinderroulade", "Hauptgerichte", M, 2290, 2),
        Item("Leberkäse mit Spiegelei", "Hauptgerichte", M, 1290, 2),
        Item("Brezel mit Obatzda", "Vorspeisen", S, 790, 3),
        Item("Kartoffelsuppe", "Vorspeisen", S, 690, 2),
        Item("Pommes frites", "Beilagen", SD, 450, 3),
        Item("Sauerkraut", "Beilagen", SD, 390, 1),
        Item("Kartoffelsalat", "Beilagen", SD, 450, 2),
        Item("Helles 0,5l", "Bier", D, 520, 5, multi=True),
        Item("Weißbier 0,5l", "Bier", D, 560, 4, multi=True),
        Item("Maß Helles", "Bier", D, 1090, 2, multi=True),
        Item("Pils 0,3l", "Bier", D, 390, 2, multi=True),
        Item("Radler 0,5l", "Bier", D, 490, 2),
        Item("Apfelschorle 0,4l", "Alkoholfreie Getränke", D, 420, 2),
        Item("Spezi 0,4l", "Alkoholfreie Getränke", D, 420, 1),
        Item("Apfelstrudel", "Desserts", DS, 790, 2),
        Item("Kaiserschmarrn", "Desserts", DS, 990, 2),
    ),
    modifiers={
        M: (
            ("Extra Soße", 150),
            ("Ohne Zwiebeln", 0),
            ("Pommes statt Knödel", 0),
            ("Extra Portion Speck", 250),
        ),
        DS: (("mit Vanilleeis", 200),),
    },
    mod_rates={M: 0.25, DS: 0.25},
    mod_group="Extras",
    tax_bp=1900,
    dine_in_rate=0.9,
    visit_minutes=90,
    holiday_closures=frozenset({"Christmas Day"}),
    holiday_factor=1.15,
    valentine=1.1,
    nye=1.4,
    promo_rate=0.04,
    square_tz_name="Berlin",
    square_location_name="Brauhaus Mitte",
    square_export="orders",
    number=8,
)

RESTAURANTS: tuple[Restaurant, ...] = (R01, R02, R03, R04, R05, R06, R07, R08)
BY_ID = {r.id: r for r in RESTAURANTS}


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *stream]))


def _days(d: date) -> int:
    return (d - EPOCH).days


def _date(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


def fmt_decimal(minor: int, exponent: int = 2) -> str:
    """Integer minor units as a plain decimal string: 1250 -> "12.50", -5 -> "-0.05"."""
    if exponent == 0:
        return str(int(minor))
    sign = "-" if minor < 0 else ""
    a = abs(int(minor))
    q = 10**exponent
    return f"{sign}{a // q}.{a % q:0{exponent}d}"


def fmt_money(minor: int, currency: str) -> str:
    """Square dashboard money: "$1,234.50", "-$2.00", "€12.50"."""
    exp = CURRENCY_EXPONENT.get(currency, 2)
    sign = "-" if minor < 0 else ""
    a = abs(int(minor))
    q = 10**exp
    whole = f"{a // q:,}"
    frac = f".{a % q:0{exp}d}" if exp else ""
    return f"{sign}{CURRENCY_SYMBOL.get(currency, '')}{whole}{frac}"


def fmt_qty(x: float) -> str:
    if abs(x - round(x)) < 1e-9:
        return str(round(x))
    return f"{x:.3f}".rstrip("0").rstrip(".")


def round_div(num: np.ndarray | int, den: int) -> Any:
    """Round-half-up integer division for non-negative numerators."""
    return (num * 2 + den) // (2 * den)


def tax_of(net: int, tax_bp: int) -> int:
    return (
        int(round_div(int(net) * tax_bp, 10000))
        if net >= 0
        else -int(round_div(-int(net) * tax_bp, 10000))
    )


def rand_ids(rng: np.random.Generator, n: int, length: int, alphabet: np.ndarray) -> list[str]:
    idx = rng.integers(0, len(alphabet), size=(n, length))
    return alphabet[idx].astype(np.uint8).view(f"S{length}").ravel().astype(str).tolist()


def time_guids(rng: np.random.Generator, sec: np.ndarray, per: int) -> np.ndarray:
    """Time-based (version 1) UUIDs: ``per`` consecutive ids for each instant in ``sec``.

    Returns an array of shape (len(sec), per). One random clock sequence and node per call, a
    random sub-second offset per instant; consecutive ids of one instant differ in the last digits
    of ``time_low``.
    """
    n = len(sec)
    ticks = (
        np.asarray(sec, np.int64) * 10_000_000
        + 0x01B21DD213814000
        + rng.integers(0, 9_000_000, n) * 1
    )[:, None] + np.arange(per)[None, :]
    clock = int(rng.integers(0, 1 << 14)) | 0x8000
    node = int(rng.integers(0, 1 << 48)) | (1 << 40)
    tail = f"-{clock:04x}-{node:012x}"
    flat = ticks.ravel().tolist()
    out = [
        f"{t & 0xFFFFFFFF:08x}-{(t >> 32) & 0xFFFF:04x}-{((t >> 48) & 0x0FFF) | 0x1000:04x}{tail}"
        for t in flat
    ]
    return np.array(out, dtype=object).reshape(n, per)


def localize(wall_sec: np.ndarray, tz: str, fold_first: np.ndarray | None = None) -> np.ndarray:
    """Local wall-clock seconds (naive epoch seconds) -> UTC epoch seconds.

    Ambiguous times (the repeated hour when clocks go back) take the first occurrence where
    ``fold_first`` is True, the second otherwise; nonexistent times (clocks go forward) move one
    hour later, as a POS clock would show them.
    """
    if len(wall_sec) == 0:
        return np.zeros(0, np.int64)
    idx = pd.DatetimeIndex(wall_sec.astype("datetime64[s]").astype("datetime64[ns]"))
    amb = fold_first if fold_first is not None else np.ones(len(wall_sec), bool)
    aware = idx.tz_localize(tz, ambiguous=amb, nonexistent=pd.Timedelta(hours=1))
    return aware.tz_convert("UTC").as_unit("s").asi8.astype(np.int64)


def to_local(utc_sec: np.ndarray, tz: str) -> np.ndarray:
    """UTC epoch seconds -> local wall-clock seconds (naive epoch seconds)."""
    if len(utc_sec) == 0:
        return np.zeros(0, np.int64)
    idx = pd.DatetimeIndex(
        np.asarray(utc_sec).astype("datetime64[s]").astype("datetime64[ns]"), tz="UTC"
    )
    return idx.tz_convert(tz).tz_localize(None).as_unit("s").asi8.astype(np.int64)


def business_day(utc_sec: np.ndarray, tz: str, cutoff_hour: int) -> np.ndarray:
    """Business date (days since 1970-01-01) = local wall time minus the cutoff hour."""
    return (to_local(utc_sec, tz) - cutoff_hour * 3600) // 86400


def iso_seconds(sec: np.ndarray) -> list[str]:
    """Epoch seconds -> 'YYYY-MM-DDTHH:MM:SS'."""
    return np.datetime_as_string(np.asarray(sec).astype("datetime64[s]"), unit="s").tolist()


def offset_str(off_sec: int) -> str:
    sign = "+" if off_sec >= 0 else "-"
    a = abs(int(off_sec)) // 60
    return f"{sign}{a // 60:02d}:{a % 60:02d}"


class _GzWriter:
    """Deterministic gzip text writer (mtime 0, no file name in the header)."""

    def __init__(self, path: Path, level: int = 9) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._raw = path.open("wb")
        self._gz = gzip.GzipFile(
            filename="", mode="wb", fileobj=self._raw, compresslevel=level, mtime=0
        )
        self.text = io.TextIOWrapper(self._gz, encoding="utf-8", newline="")

    def close(self) -> None:
        self.text.close()
        self._raw.close()


def write_gz_text(path: Path, chunks: Iterable[str], level: int = 9) -> None:
    w = _GzWriter(path, level)
    try:
        for chunk in chunks:
            w.text.write(chunk)
    finally:
        w.close()


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    bom: bool = False,
    gz: bool = True,
) -> int:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(header)
    n = 0
    for row in rows:
        wr.writerow(row)
        n += 1
    text = ("\ufeff" if bom else "") + buf.getvalue()
    if gz:
        write_gz_text(path, [text])
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return n


class Raw(str):
    """A JSON fragment written verbatim (decimal numbers such as 12.50)."""


def dump_json(o: Any) -> str:
    if isinstance(o, Raw):
        return str(o)
    if isinstance(o, str):
        return json.dumps(o, ensure_ascii=False)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, int):
        return str(o)
    if isinstance(o, float):
        return repr(o)
    if isinstance(o, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dump_json(v) for k, v in o.items()) + "}"
    if isinstance(o, list | tuple):
        return "[" + ",".join(dump_json(v) for v in o) + "]"
    raise TypeError(type(o))


# --------------------------------------------------------------------------------------------
# Calendar: holidays, closures, local events
# --------------------------------------------------------------------------------------------


@dataclass
class Calendar:
    first: int  # first business day (days since epoch)
    last: int
    events: list[dict[str, Any]] = field(default_factory=list)
    closed: dict[str, set[int]] = field(default_factory=dict)
    factor: dict[str, np.ndarray] = field(default_factory=dict)  # per restaurant, per day


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    d = date(year, month, 1)
    d += timedelta(days=(weekday - d.weekday()) % 7)
    return d + timedelta(weeks=n - 1)


def _last_weekday(year: int, month: int, weekday: int) -> date:
    d = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return d - timedelta(days=(d.weekday() - weekday) % 7)


def _local_events(year: int) -> list[tuple[str | None, str, str, date, date, int, int, float]]:
    """(restaurant or None, kind, name, start, end, lower_window, upper_window, demand factor)."""
    first_sun_oct = _nth_weekday(year, 10, 6, 1)
    okt_end = max(first_sun_oct, date(year, 10, 3))
    memorial = _last_weekday(year, 5, 0)
    labour = _nth_weekday(year, 9, 0, 1)
    vivid = date(year, 5, 20) + timedelta(days=(4 - date(year, 5, 20).weekday()) % 7)
    return [
        (None, "holiday", "Valentine's Day", date(year, 2, 14), date(year, 2, 14), 0, 0, 0.0),
        (None, "holiday", "New Year's Eve", date(year, 12, 31), date(year, 12, 31), 0, 0, 0.0),
        (
            "r01",
            "event",
            "New York City Marathon",
            _nth_weekday(year, 11, 6, 1),
            _nth_weekday(year, 11, 6, 1),
            -1,
            0,
            1.35,
        ),
        (
            "r02",
            "event",
            "Carnaval San Francisco (Mission street fair)",
            memorial - timedelta(days=2),
            memorial - timedelta(days=1),
            -1,
            0,
            1.6,
        ),
        ("r03", "event", "Fête de la Musique", date(year, 6, 21), date(year, 6, 21), 0, 0, 1.3),
        (
            "r04",
            "event",
            "Chicago Marathon",
            _nth_weekday(year, 10, 6, 2),
            _nth_weekday(year, 10, 6, 2),
            -1,
            0,
            1.25,
        ),
        (
            "r05",
            "event",
            "Toronto International Film Festival",
            labour + timedelta(days=3),
            labour + timedelta(days=13),
            0,
            0,
            1.15,
        ),
        (
            "r06",
            "event",
            "Sumidagawa Fireworks Festival",
            _last_weekday(year, 7, 5),
            _last_weekday(year, 7, 5),
            0,
            0,
            1.4,
        ),
        ("r07", "event", "Vivid Sydney", vivid, vivid + timedelta(days=22), 0, 0, 1.2),
        ("r08", "event", "Berliner Oktoberfest", okt_end - timedelta(days=15), okt_end, -1, 1, 1.3),
    ]


def _custom_closures(r: Restaurant, year: int) -> list[tuple[str, date, date]]:
    out: list[tuple[str, date, date]] = []
    if r.id == "r03":  # two weeks of annual leave from the first Monday of August
        mon = _nth_weekday(year, 8, 0, 1)
        out.append(("Congés annuels (annual holidays)", mon, mon + timedelta(days=13)))
    if r.id == "r06":
        out.append(("Shōgatsu (New Year) closure", date(year, 1, 1), date(year, 1, 3)))
    if r.id == "r08":
        out.append(("Heiligabend (Christmas Eve)", date(year, 12, 24), date(year, 12, 24)))
    if r.id == "r07" and year == 2025:
        out.append(("Renovation", date(2025, 7, 14), date(2025, 7, 27)))
    return out


def build_calendar(
    restaurants: Sequence[Restaurant], start: date, days: int, seed: int
) -> Calendar:
    first, last = _days(start), _days(start) + days - 1
    end = _date(last)
    years = list(range(start.year - 1, end.year + 2))
    cal = Calendar(first, last)
    day_idx = np.arange(first, last + 1)
    ids = {r.id for r in restaurants}
    rows: list[dict[str, Any]] = []
    ev_factor: dict[str, np.ndarray] = {r.id: np.ones(days) for r in restaurants}
    global_factors = {
        "Valentine's Day": {r.id: r.valentine for r in restaurants},
        "New Year's Eve": {r.id: r.nye for r in restaurants},
    }

    for y in years:
        for rid, kind, name, s, e, lo, up, f in _local_events(y):
            a, b = _days(s) + lo, _days(e) + up
            if b < first or a > last or (rid is not None and rid not in ids):
                continue
            rows.append(
                {
                    "restaurant_id": rid or "",
                    "kind": kind,
                    "name": name,
                    "start_date": s.isoformat(),
                    "end_date": e.isoformat(),
                    "lower_window": lo or "",
                    "upper_window": up or "",
                }
            )
            targets = {rid: f} if rid else global_factors[name]
            for tid, tf in targets.items():
                core = (day_idx >= _days(s)) & (day_idx <= _days(e))
                window = (day_idx >= a) & (day_idx <= b) & ~core
                ev_factor[tid][core] *= tf
                ev_factor[tid][window] *= 1 + (tf - 1) / 2

    closure_rows: list[dict[str, Any]] = []
    for r in restaurants:
        hol = holidays.country_holidays(
            r.country, subdiv=r.subdivision or None, years=years, language="en_US"
        )
        closed: dict[int, str] = {}
        hfac = np.ones(days)
        for d, name in sorted(hol.items()):
            n = _days(d)
            if not first <= n <= last:
                continue
            names = set(name.split("; "))
            if names & r.holiday_closures:
                closed[n] = sorted(names & r.holiday_closures)[0]
            else:
                hfac[n - first] = r.holiday_factor
        for y in years:
            for name, s, e in _custom_closures(r, y):
                for n in range(_days(s), _days(e) + 1):
                    if first <= n <= last:
                        closed.setdefault(n, name)
        for n in range(first, last + 1):
            if _date(n).weekday() in r.closed_weekdays:
                closed.setdefault(n, "Closed on Mondays")
        # contiguous runs with the same name become one closure row
        run: list[int] = []
        for n in sorted(closed):
            if run and (n != run[-1] + 1 or closed[n] != closed[run[0]]):
                closure_rows.append(_closure_row(r.id, closed[run[0]], run))
                run = []
            run.append(n)
        if run:
            closure_rows.append(_closure_row(r.id, closed[run[0]], run))
        cal.closed[r.id] = set(closed)
        weather = _rng(seed, 900, r.number)
        bad = weather.random(days) < 0.015
        wf = np.where(bad, weather.uniform(0.45, 0.75, days), 1.0)
        cal.factor[r.id] = hfac * ev_factor[r.id] * wf

    rows.extend(closure_rows)
    rows.sort(
        key=lambda x: (
            x["restaurant_id"] != "",
            x["restaurant_id"],
            x["start_date"],
            x["kind"],
            x["name"],
        )
    )
    cal.events = rows
    return cal


def _closure_row(rid: str, name: str, run: list[int]) -> dict[str, Any]:
    return {
        "restaurant_id": rid,
        "kind": "closure",
        "name": name,
        "start_date": _date(run[0]).isoformat(),
        "end_date": _date(run[-1]).isoformat(),
        "lower_window": "",
        "upper_window": "",
    }


# --------------------------------------------------------------------------------------------
# Canonical simulation
# --------------------------------------------------------------------------------------------


@dataclass
class Canon:
    """Canonical orders, lines (sorted by order, line_no) and refunds of one restaurant."""

    r: Restaurant
    # orders
    o_utc: np.ndarray
    o_close: np.ndarray
    o_bd: np.ndarray
    o_guests: np.ndarray
    o_dine_in: np.ndarray
    o_void: np.ndarray
    o_flavour: np.ndarray  # how a voided order shows in the vendor's data (0..2)
    o_tender: np.ndarray  # 0 card, 1 cash
    # lines
    l_order: np.ndarray
    l_no: np.ndarray
    l_parent: np.ndarray  # parent line_no, 0 for top-level
    l_ts: np.ndarray
    l_bd: np.ndarray
    l_item: np.ndarray  # menu index, -1 for modifiers
    l_mod: np.ndarray  # modifier index, -1 for items
    l_qty: np.ndarray  # float
    l_unitqty: np.ndarray  # thousandths for weighed items, 0 otherwise
    l_unit: np.ndarray  # unit price, minor units
    l_gross: np.ndarray
    l_disc: np.ndarray
    l_net: np.ndarray
    l_kind: np.ndarray
    l_check: np.ndarray
    l_promo: np.ndarray  # promo percent applied (0: none)
    l_reason: np.ndarray  # void reason index
    # refunds (one event per refunded top-level line)
    r_order: np.ndarray
    r_line: np.ndarray  # line_no of the refunded top-level line
    r_ts: np.ndarray
    r_bd: np.ndarray
    r_amount: np.ndarray  # positive minor units (line net plus its modifiers)
    r_qty: np.ndarray
    r_reason: np.ndarray
    mods: tuple[tuple[str, int], ...] = ()

    @property
    def n_orders(self) -> int:
        return len(self.o_utc)

    def line_starts(self) -> np.ndarray:
        return np.searchsorted(self.l_order, np.arange(self.n_orders + 1))

    @property
    def id_offset(self) -> int:
        """Where this slice's sequential ids start: 1,000 per business day since the epoch, so
        slices of other days never reuse an id (a vendor's ids never repeat)."""
        return int(self.o_bd.min()) * 1000 if self.n_orders else 0

    def name(self, i: int) -> str:
        return (
            self.r.menu[self.l_item[i]].name if self.l_item[i] >= 0 else self.mods[self.l_mod[i]][0]
        )

    def category(self, i: int) -> str:
        return self.r.menu[self.l_item[i]].category if self.l_item[i] >= 0 else self.r.mod_group


def _sample_wall(
    rng: np.random.Generator,
    n: int,
    windows: tuple[tuple[float, float], ...],
    peaks: tuple[tuple[float, float, float], ...],
    minute: bool,
) -> np.ndarray:
    """Seconds after the business date's midnight, from lunch/dinner peaks inside open windows."""
    if n == 0 or not windows:
        return np.zeros(0, np.int64)
    c = np.array([p[0] for p in peaks])
    sd = np.array([p[1] for p in peaks])
    w = np.array([p[2] for p in peaks])
    w = w / w.sum()
    got: list[np.ndarray] = []
    have = 0
    while have < n:
        k = max(3 * (n - have), 64)
        comp = rng.choice(len(peaks), size=k, p=w)
        h = rng.normal(c[comp], sd[comp])
        bg = rng.random(k) < 0.08  # a flat background inside opening hours
        lo = min(a for a, _ in windows)
        hi = max(b for _, b in windows)
        h = np.where(bg, rng.uniform(lo, hi, k), h)
        ok = np.zeros(k, bool)
        for a, b in windows:
            ok |= (h >= a) & (h < b - 0.05)
        got.append(h[ok])
        have += int(ok.sum())
    hours = np.concatenate(got)[:n]
    sec = (hours * 3600).astype(np.int64)
    if minute:
        sec -= sec % 60
    return sec


def simulate(r: Restaurant, cal: Calendar, seed: int, scale: float) -> Canon:
    rng = _rng(seed, r.number)
    days = cal.last - cal.first + 1
    day_n = np.arange(cal.first, cal.last + 1)
    weekday = (day_n + 3) % 7  # 1970-01-01 was a Thursday
    t_years = (day_n - _days(DEFAULT_START)) / 365.25
    doy = np.array([_date(n).timetuple().tm_yday for n in day_n])
    lam = (
        r.base_orders
        * scale
        * np.array(r.dow)[weekday]
        * (1 + r.season_amp * np.cos(2 * np.pi * (doy - r.season_peak_doy) / 365.25))
        * np.maximum(0.2, 1 + r.trend * t_years)
        * cal.factor[r.id]
        * rng.lognormal(0.0, 0.12, days)
    )
    closed = np.array([n in cal.closed[r.id] for n in day_n]) | np.array(
        [not r.hours[w] for w in weekday]
    )
    counts = np.where(closed, 0, rng.poisson(np.maximum(lam, 0)))

    # --- orders: opening instants -------------------------------------------------------
    o_day = np.repeat(day_n, counts)
    o_wd = np.repeat(weekday, counts)
    wall_off = np.zeros(len(o_day), np.int64)
    for wd in range(7):
        sel = np.flatnonzero(o_wd == wd)
        wall_off[sel] = _sample_wall(rng, len(sel), r.hours[wd], r.peaks, r.minute_times)
    wall = o_day.astype(np.int64) * 86400 + wall_off
    utc = localize(wall, r.timezone, rng.random(len(wall)) < 0.5)
    bd = business_day(utc, r.timezone, r.cutoff_hour)
    closed_set = cal.closed[r.id]
    keep = (
        (bd >= cal.first)
        & (bd <= cal.last)
        & np.array([int(b) not in closed_set for b in bd], bool)
    )
    order_sort = np.argsort(utc[keep], kind="stable")
    utc, bd = utc[keep][order_sort], bd[keep][order_sort]
    n = len(utc)
    guests = rng.choice(
        np.arange(1, len(r.guests_p) + 1), size=n, p=np.array(r.guests_p) / sum(r.guests_p)
    )
    dine_in = rng.random(n) < r.dine_in_rate
    visit = np.clip(rng.lognormal(np.log(r.visit_minutes), 0.35, n), 2, 240) * 60
    close = utc + visit.astype(np.int64)
    o_void = rng.random(n) < 0.004
    flavour = rng.integers(0, 3, n)
    tender = (rng.random(n) < 0.15).astype(np.int64)
    promo_pct = np.where(rng.random(n) < r.promo_rate, rng.choice([10, 15, 20], n), 0)
    split = (guests >= 2) & (rng.random(n) < 0.06)

    # --- top-level lines ------------------------------------------------------------------
    menu = r.menu
    roles = np.array([it.role for it in menu])
    o_idx: list[np.ndarray] = []
    it_idx: list[np.ndarray] = []
    for role in range(len(ROLES)):
        rate = r.role_rates[role]
        items = np.flatnonzero(roles == role)
        if len(items) == 0:
            continue
        if role == R_RETAIL:
            cnt = (rng.random(n) < 0.012).astype(np.int64)
        elif rate <= 0:
            continue
        else:
            cnt = rng.binomial(guests, min(rate, 1.0)) + (
                rng.binomial(guests, rate - 1.0) if rate > 1 else 0
            )
        if role == R_MAIN:
            cnt = np.maximum(cnt, 1)  # every order has at least one main
        wts = np.array([menu[i].weight for i in items], float)
        o_idx.append(np.repeat(np.arange(n), cnt))
        it_idx.append(rng.choice(items, size=int(cnt.sum()), p=wts / wts.sum()))
    t_order = np.concatenate(o_idx)
    t_item = np.concatenate(it_idx)
    srt = np.argsort(t_order, kind="stable")
    t_order, t_item = t_order[srt], t_item[srt]
    multi = np.array([it.multi for it in menu])[t_item]
    weighed = np.array([it.weighed for it in menu])[t_item]
    qty = np.where(
        multi,
        rng.choice([1, 2, 3], len(t_item), p=[0.6, 0.3, 0.1]),
        rng.choice([1, 2], len(t_item), p=[0.96, 0.04]),
    ).astype(np.int64)
    qty[weighed] = 1
    if not r.per_unit_lines:  # the same item twice in an order is one line with a quantity
        key = t_order * len(menu) + t_item
        _, first_idx, inv = np.unique(key, return_index=True, return_inverse=True)
        qsum = np.bincount(inv, weights=qty).astype(np.int64)
        keep_idx = np.sort(first_idx)
        qty = qsum[inv[keep_idx]]
        t_order, t_item, multi, weighed = (a[keep_idx] for a in (t_order, t_item, multi, weighed))
        qty[weighed] = 1
    t_addon = np.zeros(len(t_item), bool)

    # late add-on rounds (dessert or drinks ordered later) for formats with line timestamps
    if r.addon_rate > 0:
        has = (rng.random(n) < r.addon_rate) & ~o_void
        a_order = np.flatnonzero(has)
        cand = np.flatnonzero((roles == R_DESSERT) | (roles == R_DRINK))
        wts = np.array([menu[i].weight for i in cand], float)
        a_item = rng.choice(cand, size=len(a_order), p=wts / wts.sum())
        t_order = np.concatenate([t_order, a_order])
        t_item = np.concatenate([t_item, a_item])
        qty = np.concatenate([qty, np.ones(len(a_order), np.int64)])
        t_addon = np.concatenate([t_addon, np.ones(len(a_order), bool)])
        weighed = np.concatenate([weighed, np.zeros(len(a_order), bool)])
        srt = np.lexsort((t_addon, t_order))  # add-ons after the order's other lines
        t_order, t_item, qty, t_addon, weighed = (
            t_order[srt],
            t_item[srt],
            qty[srt],
            t_addon[srt],
            weighed[srt],
        )

    if r.per_unit_lines:  # one line per unit for items sold by count
        rep = np.where(weighed, 1, qty)
        t_order, t_item, t_addon, weighed = (
            np.repeat(a, rep) for a in (t_order, t_item, t_addon, weighed)
        )
        qty = np.ones(len(t_item), np.int64)
    n_top = len(t_item)
    unit = np.array([it.price for it in menu], np.int64)[t_item]
    unitqty = np.where(weighed, rng.choice([250, 500, 1000], n_top), 0)
    qty_f = np.where(weighed, unitqty / 1000.0, qty.astype(float))
    gross = np.where(weighed, unit * unitqty // 1000, unit * qty)

    first_of_order = np.r_[True, t_order[1:] != t_order[:-1]]
    kind = np.full(n_top, SALE)
    u = rng.random(n_top)
    kind[(u < 0.010) & ~weighed] = COMP
    kind[(u >= 0.010) & (u < 0.024) & ~first_of_order] = VOID
    kind[o_void[t_order]] = VOID
    reason = rng.integers(0, len(VOID_REASONS), n_top)

    t_promo = np.where((kind == SALE) & ~weighed, promo_pct[t_order], 0)
    disc = round_div(gross * t_promo, 100)
    disc = np.where(kind == COMP, gross, disc)
    net = gross - disc

    t_ts = utc[t_order].copy()
    if r.line_times:
        off = rng.integers(15, 76, n_top) * 60
        if not r.minute_times:
            off += rng.integers(0, 60, n_top)
        t_ts = np.where(t_addon, t_ts + off, t_ts)
    t_bd = business_day(t_ts, r.timezone, r.cutoff_hour) if n_top else np.zeros(0, np.int64)
    # an add-on must land on a business day that has orders (never on a closed day)
    open_days = set(np.unique(bd[~o_void]).tolist())
    ok = ~t_addon | np.array([int(b) in open_days for b in t_bd], bool)
    sel = np.flatnonzero(ok)
    (
        t_order,
        t_item,
        qty_f,
        unitqty,
        unit,
        gross,
        disc,
        net,
        kind,
        t_ts,
        t_bd,
        t_promo,
        reason,
        t_addon,
    ) = (
        a[sel]
        for a in (
            t_order,
            t_item,
            qty_f,
            unitqty,
            unit,
            gross,
            disc,
            net,
            kind,
            t_ts,
            t_bd,
            t_promo,
            reason,
            t_addon,
        )
    )
    n_top = len(t_order)
    first_of_order = np.r_[True, t_order[1:] != t_order[:-1]] if n_top else np.zeros(0, bool)
    pos = (
        np.arange(n_top) - np.flatnonzero(first_of_order)[np.cumsum(first_of_order) - 1]
        if n_top
        else np.zeros(0, int)
    )

    # Toast split checks: lines alternate between two checks
    check = np.zeros(n_top, np.int64)
    sp = split[t_order]
    check[sp] = (pos[sp] % 2).astype(np.int64)
    n_lines_order = np.bincount(t_order, minlength=n)
    single = n_lines_order[t_order] < 2
    check[single] = 0

    # --- modifiers ------------------------------------------------------------------------
    mods: list[tuple[str, int]] = []
    m_off = np.zeros(len(ROLES), np.int64)
    m_cnt = np.zeros(len(ROLES), np.int64)
    m_rate = np.zeros(len(ROLES))
    for role in range(len(ROLES)):
        lst = r.modifiers.get(role, ())
        m_off[role], m_cnt[role] = len(mods), len(lst)
        m_rate[role] = r.mod_rates.get(role, 0.0) if lst else 0.0
        mods.extend(lst)
    mod_price = np.array([p for _, p in mods] or [0], np.int64)
    t_role = roles[t_item]
    t_weighed = unitqty > 0
    has_mod = (rng.random(n_top) < m_rate[t_role]) & ~t_weighed
    n_mod = has_mod.astype(np.int64) + (has_mod & (rng.random(n_top) < 0.2))
    p_idx = np.repeat(np.arange(n_top), n_mod)
    k_in = np.arange(len(p_idx)) - np.repeat(np.cumsum(n_mod) - n_mod, n_mod)
    m_idx = m_off[t_role[p_idx]] + (rng.random(len(p_idx)) * m_cnt[t_role[p_idx]]).astype(np.int64)
    dup = np.r_[False, (k_in[1:] == 1) & (m_idx[1:] == m_idx[:-1])]
    free_ok = ~(
        (kind[p_idx] == COMP) & (mod_price[m_idx] > 0)
    )  # comped items keep free modifiers only
    keep = ~dup & free_ok
    p_idx, m_idx, k_in = p_idx[keep], m_idx[keep], k_in[keep]
    n_mods = len(p_idx)
    m_qty = qty_f[p_idx]
    m_unit = mod_price[m_idx]
    m_gross = m_unit * m_qty.round().astype(np.int64)
    m_kind = np.where(kind[p_idx] == VOID, VOID, SALE)

    # --- assemble lines sorted by (order, top position, parent first, then modifiers) -------
    top_pos = np.concatenate([pos, pos[p_idx]])
    sub = np.concatenate(
        [np.zeros(n_top, np.int64), 1 + np.arange(n_mods) - np.searchsorted(p_idx, p_idx)]
    )
    a_order = np.concatenate([t_order, t_order[p_idx]])
    srt = np.lexsort((sub, top_pos, a_order))
    a_order = a_order[srt]
    n_lines = len(a_order)
    starts = np.searchsorted(a_order, np.arange(n + 1))
    line_no = np.arange(n_lines) - starts[a_order] + 1
    is_top = np.concatenate([np.ones(n_top, bool), np.zeros(n_mods, bool)])[srt]
    # parent line_no: position of the parent top-level row after sorting
    inv = np.empty(n_lines, np.int64)
    inv[srt] = np.arange(n_lines)
    parent_no = np.zeros(n_lines, np.int64)
    parent_no[inv[n_top:]] = line_no[inv[p_idx]]

    def cat(top: np.ndarray, mod: np.ndarray) -> np.ndarray:
        return np.concatenate([top, mod])[srt]

    canon = Canon(
        r=r,
        o_utc=utc,
        o_close=close,
        o_bd=bd,
        o_guests=guests,
        o_dine_in=dine_in,
        o_void=o_void,
        o_flavour=flavour,
        o_tender=tender,
        l_order=a_order,
        l_no=line_no,
        l_parent=parent_no,
        l_ts=cat(t_ts, t_ts[p_idx]),
        l_bd=cat(t_bd, t_bd[p_idx]),
        l_item=cat(t_item, np.full(n_mods, -1)),
        l_mod=cat(np.full(n_top, -1), m_idx),
        l_qty=cat(qty_f, m_qty),
        l_unitqty=cat(unitqty, np.zeros(n_mods, np.int64)),
        l_unit=cat(unit, m_unit),
        l_gross=cat(gross, m_gross),
        l_disc=cat(disc, np.zeros(n_mods, np.int64)),
        l_net=cat(net, m_gross),
        l_kind=cat(kind, m_kind),
        l_check=cat(check, check[p_idx]),
        l_promo=cat(t_promo, np.zeros(n_mods, np.int64)),
        l_reason=cat(reason, reason[p_idx]),
        r_order=np.zeros(0, np.int64),
        r_line=np.zeros(0, np.int64),
        r_ts=np.zeros(0, np.int64),
        r_bd=np.zeros(0, np.int64),
        r_amount=np.zeros(0, np.int64),
        r_qty=np.zeros(0),
        r_reason=np.zeros(0, np.int64),
        mods=tuple(mods),
    )
    assert is_top.sum() == n_top
    _add_refunds(canon, rng, cal)
    return canon


def _add_refunds(c: Canon, rng: np.random.Generator, cal: Calendar) -> None:
    r = c.r
    starts = c.line_starts()
    n = c.n_orders
    pick = np.flatnonzero((rng.random(n) < 0.005) & ~c.o_void)
    full = rng.random(len(pick)) < 0.25
    lag = rng.choice(
        [0, 1, 2, 3, 4, 5, 6, 7], len(pick), p=[0.5, 0.2, 0.1, 0.05, 0.05, 0.04, 0.03, 0.03]
    )
    u_line = rng.random(len(pick))
    u_min = rng.integers(10, 90, len(pick)) * 60 + (
        0 if r.minute_times else rng.integers(0, 60, len(pick))
    )
    u_wall = rng.random(len(pick))
    reason = rng.integers(0, len(RETURN_REASONS), len(pick))
    closed = cal.closed[r.id]
    out: list[tuple[int, int, int, int, float, int]] = []
    ts_list: list[int] = []
    for k, o in enumerate(pick):
        s, e = starts[o], starts[o + 1]
        cand = [
            i for i in range(s, e) if c.l_parent[i] == 0 and c.l_kind[i] == SALE and c.l_net[i] > 0
        ]
        if not cand:
            continue
        chosen = cand if full[k] else [cand[int(u_line[k] * len(cand))]]
        if r.pos_provider == "toast":  # a refund is per payment: keep to one check
            chk = c.l_check[chosen[0]]
            chosen = [i for i in chosen if c.l_check[i] == chk]
        if lag[k] == 0:
            ts = int(c.o_close[o]) + int(u_min[k])
        else:
            day = int(c.o_bd[o]) + int(lag[k])
            windows = r.hours[(day + 3) % 7]
            if not windows or day in closed or day > cal.last:
                continue
            a, b = windows[0]
            wall_off = int((a + (min(b, 22.0) - a) * u_wall[k]) * 3600)
            if r.minute_times:
                wall_off -= wall_off % 60
            ts = int(localize(np.array([day * 86400 + wall_off]), r.timezone)[0])
        rbd = int(business_day(np.array([ts]), r.timezone, r.cutoff_hour)[0])
        if rbd in closed or rbd > cal.last:
            continue
        for i in chosen:
            kids = [j for j in range(i + 1, e) if c.l_parent[j] == c.l_no[i]]
            amount = int(c.l_net[i] + sum(int(c.l_net[j]) for j in kids))
            out.append((int(o), int(c.l_no[i]), ts, rbd, float(c.l_qty[i]), amount))
            ts_list.append(int(reason[k]))
    if out:
        arr = list(zip(*out, strict=True))
        c.r_order = np.array(arr[0], np.int64)
        c.r_line = np.array(arr[1], np.int64)
        c.r_ts = np.array(arr[2], np.int64)
        c.r_bd = np.array(arr[3], np.int64)
        c.r_qty = np.array(arr[4], float)
        c.r_amount = np.array(arr[5], np.int64)
        c.r_reason = np.array(ts_list, np.int64)


# --------------------------------------------------------------------------------------------
# Ground truth (the Demand rules of docs/formats.md)
# --------------------------------------------------------------------------------------------


def ground_truth(c: Canon) -> pd.DataFrame:
    demand = (c.l_kind == SALE) | (c.l_kind == COMP)
    top = c.l_parent == 0
    counted = np.unique(c.l_order[demand & top])
    orders = pd.DataFrame({"bd": c.o_bd[counted], "guests": c.o_guests[counted]})
    per_day = orders.groupby("bd").agg(orders=("guests", "size"), covers=("guests", "sum"))
    lines = pd.DataFrame(
        {
            "bd": c.o_bd[c.l_order[demand]],  # a check's sales belong to its order's day
            "net": c.l_net[demand],
            "qty": np.where(top[demand], c.l_qty[demand], 0.0),
        }
    )
    lsum = lines.groupby("bd").agg(net_sales_minor=("net", "sum"), item_quantity=("qty", "sum"))
    df = per_day.join(lsum, how="left")
    extra = set(lsum.index) - set(per_day.index)
    if extra:
        raise AssertionError(f"{c.r.id}: demand lines on days without orders: {sorted(extra)[:5]}")
    df = df.reset_index()
    return pd.DataFrame(
        {
            "restaurant_id": c.r.id,
            "business_date": [_date(b).isoformat() for b in df["bd"]],
            "covers": df["covers"].astype("Int64")
            if c.r.has_covers
            else pd.array([pd.NA] * len(df), dtype="Int64"),
            "orders": df["orders"].astype(np.int64),
            "net_sales_minor": df["net_sales_minor"].fillna(0).astype(np.int64),
            "item_quantity": df["item_quantity"].fillna(0.0).astype(float),
        }
    )


# --------------------------------------------------------------------------------------------
# Vendor serialisers
# --------------------------------------------------------------------------------------------


TOAST_EXPORT_DAYS = 28
"""r01's last business days come as Toast data export folders instead of ordersBulk JSON."""

TOAST_ISD_HEADER = (
    "Location", "Order Id", "Order #", "Sent Date", "Order Date", "Check Id", "Server", "Table",
    "Dining Area", "Service", "Dining Option", "Item Selection Id", "Item Id", "Master Id", "SKU",
    "PLU", "Menu Item", "Menu Subgroup(s)", "Menu Group", "Menu", "Sales Category", "Gross Price",
    "Discount", "Net Price", "Qty", "Tax", "Void?", "Deferred", "Tax Exempt",
    "Tax Inclusion Option", "Dining Option Tax", "Tab Name",
)  # fmt: skip
TOAST_ORDER_HEADER = (
    "Location", "Order Id", "Order #", "Checks", "Opened", "# of Guests", "Tab Names", "Server",
    "Table", "Revenue Center", "Dining Area", "Service", "Dining Options", "Discount Amount",
    "Amount", "Tax", "Tip", "Gratuity", "Total", "Voided", "Paid", "Closed",
    "Duration (Opened to Paid)", "Order Source",
)  # fmt: skip
TOAST_CHECK_HEADER = (
    "Customer Id", "Customer", "Customer Phone", "Customer Email", "Location Code", "Opened Date",
    "Opened Time", "Item Description", "Server", "Tax", "Tender", "Check Id", "Check #", "Total",
    "Customer Family", "Table Size", "Discount", "Reason of Discount", "Link",
)  # fmt: skip
TOAST_PAYMENT_HEADER = (
    "Location", "Payment Id", "Order Id", "Order #", "Paid Date", "Order Date", "Check Id",
    "Check #", "Tab Name", "Server", "Table", "Dining Area", "Service", "Dining Option",
    "House Acct #", "Amount", "Tip", "Gratuity", "Total", "Swiped Card Amount",
    "Keyed Card Amount", "Amount Tendered", "Refunded", "Refund Date", "Refund Amount",
    "Refund Tip Amount", "Void User", "Void Approver", "Void Date", "Status", "Type",
    "Cash Drawer", "Card Type", "Other Type", "Email", "Phone", "Last 4 Card Digits", "Receipt",
    "V/MC/D Fees",
)  # fmt: skip
TOAST_EXPORT_FILES = (
    ("ItemSelectionDetails.csv", TOAST_ISD_HEADER),
    ("OrderDetails.csv", TOAST_ORDER_HEADER),
    ("CheckDetails.csv", TOAST_CHECK_HEADER),
    ("PaymentDetails.csv", TOAST_PAYMENT_HEADER),
)
TOAST_SERVERS = ("Dana R", "Sam K", "Alex M", "Jo P", "Lee T")


def toast_export_start(first: int, last: int) -> int:
    """The first business day (days since 1970) that r01 exports as daily data export folders:
    the last four weeks, or the last third of a short slice."""
    n = min(TOAST_EXPORT_DAYS, max(1, (last - first + 1) // 3))
    return last - n + 1


def _toast_ref(kind: str, name: str) -> dict[str, Any]:
    """A Toast ``ConfigReference``/``ExternalReference``: a GUID and entity type, no name."""
    return {
        "guid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"flux-sample/{kind}/{name}")),
        "entityType": kind,
        "externalId": None,
    }


def _toast_parts(c: Canon) -> list[dict[str, Any]]:
    """Each order's checks: for each, its top-level line indices with their modifiers, its sale
    total (``price`` sum, modifiers included), discount total, and refunds (line index -> (ts,
    amount))."""
    starts = c.line_starts()
    refund_by_line = {
        (int(o), int(ln)): (int(ts), int(a))
        for o, ln, ts, a in zip(c.r_order, c.r_line, c.r_ts, c.r_amount, strict=True)
    }
    out: list[dict[str, Any]] = []
    for o in range(c.n_orders):
        s, e = int(starts[o]), int(starts[o + 1])
        checks = []
        for k in sorted({int(x) for x in c.l_check[s:e]}):
            tops: list[tuple[int, list[int]]] = []
            for i in range(s, e):
                if c.l_check[i] != k:
                    continue
                if c.l_parent[i] == 0:
                    tops.append((i, []))
                else:
                    tops[-1][1].append(i)
            net = sum(
                int(c.l_net[i]) + sum(int(c.l_net[j]) for j in kids)
                for i, kids in tops
                if c.l_kind[i] != VOID
            )
            promo = sum(int(c.l_disc[i]) for i, _ in tops if c.l_kind[i] == SALE)
            refunds = {
                i: refund_by_line[(o, int(c.l_no[i]))]
                for i, _ in tops
                if (o, int(c.l_no[i])) in refund_by_line
            }
            n_sale = sum(1 for i, _ in tops if c.l_kind[i] == SALE)
            checks.append(
                {"k": k, "tops": tops, "net": net, "promo": promo, "refunds": refunds,
                 "n_sale": n_sale}
            )  # fmt: skip
        out.append({"checks": checks})
    return out


def _toast(c: Canon, path: Path, seed: int, until: int) -> int:
    """Toast Orders API ``ordersBulk`` JSON (Orders API 2.6.5) for the orders of business days
    before ``until``; returns the number of orders written."""
    rng = _rng(seed, 100, c.r.number)
    r = c.r
    n = c.n_orders
    # ids per order: order, 2 checks, 2 payments, a refund transaction, then one per line
    width = 6 + int(np.bincount(c.l_order, minlength=1).max(initial=0))
    g = time_guids(rng, c.o_utc, width)
    assert len(set(g.ravel().tolist())) == g.size, "GUID collision"
    opened = iso_seconds(c.o_utc)
    closed = iso_seconds(c.o_close)
    iso = lambda t: iso_seconds(np.array([t]))[0] + ".000+0000"  # noqa: E731
    ymd = lambda b: int(_date(b).strftime("%Y%m%d"))  # noqa: E731
    d2 = lambda m: Raw(fmt_decimal(int(m)))  # noqa: E731
    dining = {
        True: _toast_ref("DiningOption", "Dine In"),
        False: _toast_ref("DiningOption", "Take Out"),
    }
    parts = _toast_parts(c)
    out = ["["]
    written = 0
    for o in range(n):
        if c.o_bd[o] >= until:
            continue
        flav = int(c.o_flavour[o]) if c.o_void[o] else -1
        order_voided, deleted, check_voided = flav == 0, flav == 1, flav in (0, 2)
        opened_o, closed_o = opened[o] + ".000+0000", closed[o] + ".000+0000"
        line_guid = lambda i, o=o: g[o, 6 + int(c.l_no[i]) - 1]  # noqa: E731
        txn = {"guid": g[o, 5], "entityType": "RefundTransaction"}
        modified = closed_o
        checks = []
        for part in parts[o]["checks"]:
            k = part["k"]
            sels = []
            for i, kids in part["tops"]:
                kind = int(c.l_kind[i])
                price = int(c.l_net[i]) + sum(int(c.l_net[j]) for j in kids)
                pre = int(c.l_gross[i]) + sum(int(c.l_gross[j]) for j in kids)
                voided = kind == VOID and flav in (-1, 0)
                mods = [
                    {
                        "guid": line_guid(j),
                        "entityType": "MenuItemSelection",
                        "externalId": None,
                        "item": _toast_ref("MenuItem", c.name(j)),
                        "itemGroup": _toast_ref("MenuGroup", c.category(j)),
                        "optionGroup": _toast_ref("MenuOptionGroup", r.mod_group),
                        "displayName": c.name(j),
                        "selectionType": "NONE",
                        "quantity": float(c.l_qty[j]),
                        "receiptLinePrice": d2(c.l_unit[j]),
                        "preDiscountPrice": d2(c.l_gross[j]),
                        "price": d2(c.l_net[j]),
                        "tax": d2(tax_of(int(c.l_net[j]), r.tax_bp)),
                        "voided": voided,
                        "deferred": False,
                        "appliedDiscounts": [],
                        "modifiers": [],
                    }
                    for j in kids
                ]
                discounts = []
                if kind == COMP:
                    discounts.append(
                        {
                            "guid": line_guid(i)[:-4] + "d15c",
                            "entityType": "AppliedDiscount",
                            "name": "Manager Comp",
                            "discountAmount": d2(c.l_disc[i]),
                            "nonTaxDiscountAmount": d2(c.l_disc[i]),
                            "discountType": "OPEN_FIXED",
                        }
                    )
                refund = part["refunds"].get(i)
                sel: dict[str, Any] = {
                    "guid": line_guid(i),
                    "entityType": "MenuItemSelection",
                    "externalId": None,
                    "item": _toast_ref("MenuItem", c.name(i)),
                    "itemGroup": _toast_ref("MenuGroup", c.category(i)),
                    "optionGroup": None,
                    "displayName": c.name(i),
                    "selectionType": "NONE",
                    "quantity": float(c.l_qty[i]),
                    "receiptLinePrice": d2(c.l_unit[i]),
                    "preDiscountPrice": d2(pre),
                    "price": d2(price),
                    "tax": d2(tax_of(price, r.tax_bp)),
                    "voided": voided,
                    "voidDate": closed_o if voided else None,
                    "deferred": False,
                    "appliedDiscounts": discounts,
                    "refundDetails": None
                    if refund is None
                    else {
                        "refundAmount": d2(refund[1]),
                        "taxRefundAmount": d2(tax_of(refund[1], r.tax_bp)),
                        "tipRefundAmount": Raw("0.00"),
                        "refundTransaction": txn,
                    },
                    "modifiers": mods,
                    "createdDate": opened_o,
                    "modifiedDate": iso(refund[0]) if refund else closed_o,
                }
                sels.append(sel)
            payments = []
            if not check_voided and not deleted:
                tax = tax_of(part["net"], r.tax_bp)
                pay: dict[str, Any] = {
                    "guid": g[o, 3 + k],
                    "entityType": "OrderPayment",
                    "externalId": None,
                    "type": "CASH" if c.o_tender[o] else "CREDIT",
                    "amount": d2(part["net"] + tax),
                    "tipAmount": Raw("0.00"),
                    "paidDate": closed_o,
                    "paidBusinessDate": ymd(c.o_bd[o]),
                    "paymentStatus": "CAPTURED",
                    "refundStatus": "NONE",
                    "refund": None,
                    "orderGuid": g[o, 0],
                    "checkGuid": g[o, 1 + k],
                }
                if part["refunds"]:
                    refunded = sum(a for _, a in part["refunds"].values())
                    ts = max(t for t, _ in part["refunds"].values())
                    pay["refundStatus"] = (
                        "FULL" if len(part["refunds"]) == part["n_sale"] else "PARTIAL"
                    )
                    pay["refund"] = {
                        "refundAmount": d2(refunded + tax_of(refunded, r.tax_bp)),
                        "tipRefundAmount": Raw("0.00"),
                        "refundDate": iso(ts),
                        "refundBusinessDate": ymd(
                            business_day(np.array([ts]), r.timezone, r.cutoff_hour)[0]
                        ),
                        "refundTransaction": txn,
                    }
                    modified = max(modified, iso(ts))
                payments.append(pay)
            amount = 0 if check_voided or deleted else part["net"]
            checks.append(
                {
                    "guid": g[o, 1 + k],
                    "entityType": "Check",
                    "externalId": None,
                    "displayNumber": str(2 * o + k + 1),
                    "openedDate": opened_o,
                    "closedDate": closed_o,
                    "voided": check_voided,
                    "deleted": deleted,
                    "deletedDate": closed_o if deleted else "1970-01-01T00:00:00.000+0000",
                    "amount": d2(amount),
                    "taxAmount": d2(tax_of(amount, r.tax_bp)),
                    "totalAmount": d2(amount + tax_of(amount, r.tax_bp)),
                    "appliedDiscounts": []
                    if part["promo"] == 0
                    else [
                        {
                            "guid": g[o, 1 + k][:-4] + "d15c",
                            "entityType": "AppliedDiscount",
                            "name": f"{int(c.l_promo[part['tops'][0][0]] or 10)}% Off Promo",
                            "discountAmount": d2(part["promo"]),
                            "nonTaxDiscountAmount": d2(part["promo"]),
                            "discountType": "PERCENT",
                        }
                    ],
                    "appliedServiceCharges": [],
                    "selections": sels,
                    "payments": payments,
                }
            )
        order = {
            "guid": g[o, 0],
            "entityType": "Order",
            "externalId": None,
            "source": "In Store",
            "businessDate": ymd(c.o_bd[o]),
            "openedDate": opened_o,
            "createdDate": opened_o,
            "closedDate": closed_o,
            "paidDate": closed_o,
            "modifiedDate": modified,
            "numberOfGuests": int(c.o_guests[o]),
            "diningOption": dining[bool(c.o_dine_in[o])],
            "voided": order_voided,
            "voidDate": closed_o if order_voided else None,
            "deleted": deleted,
            "deletedDate": closed_o if deleted else "1970-01-01T00:00:00.000+0000",
            "checks": checks,
        }
        out.append(("\n" if written == 0 else ",\n") + dump_json(order))
        written += 1
    out.append("\n]\n")
    write_gz_text(path, out)
    return written


def _toast_wall(sec: np.ndarray, tz: str) -> list[str]:
    """UTC epoch seconds -> Toast's export wall-clock text, ``MM/DD/YYYY HH:MM:SS`` (local)."""
    return [f"{s[5:7]}/{s[8:10]}/{s[0:4]} {s[11:19]}" for s in iso_seconds(to_local(sec, tz))]


def _toast_check_time(wall: str) -> tuple[str, str]:
    """``MM/DD/YYYY HH:MM:SS`` -> CheckDetails' ``MM/DD/YY`` and ``hh:mm AM``."""
    hour = int(wall[11:13])
    return (
        f"{wall[0:6]}{wall[8:10]}",
        f"{(hour + 11) % 12 + 1:02d}:{wall[14:16]} {'AM' if hour < 12 else 'PM'}",
    )


def _hms(seconds: int) -> str:
    """A duration as ``HH:MM:SS`` (OrderDetails' ``Duration (Opened to Paid)``)."""
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _toast_payment_row(r: Restaurant, p: dict[str, Any], *, refund: bool) -> list[Any]:
    """One PaymentDetails row; the refund columns are filled when ``refund``."""
    d2 = fmt_decimal
    money = d2(p["amount"])
    cash = p["cash"]
    return [
        r.name, p["id"], p["order"], p["display"], p["paid"], p["opened"], p["check"],
        p["check_no"], "", p["server"], p["table"], "Main Dining", "Dinner", p["dine"], "",
        money, "0.00", "0.00", money, "" if cash else money, "0.00",
        money if cash else "0.00", p["status"] if refund else "NONE",
        p["refund_at"] if refund else "", d2(p["refunded"] + p["refund_tax"]) if refund else "",
        "0.00" if refund else "", "", "", "", "CAPTURED", "Cash" if cash else "Credit",
        "Main Drawer" if cash else "", "" if cash else "VISA", "", "", "", "" if cash else "4242",
        "", "",
    ]  # fmt: skip


def _toast_export(c: Canon, root: Path, seed: int, since: int) -> int:
    """Toast data export folders (``<root>/<yyyymmdd>/ItemSelectionDetails.csv``,
    ``OrderDetails.csv``, ``CheckDetails.csv``, ``PaymentDetails.csv``) for the business days from
    ``since``, as Toast's "Data export field reference" lists their columns. Returns the number of
    CSV data rows written."""
    rng = _rng(seed, 101, c.r.number)
    r = c.r
    base = 1_300_000_000_000_000_000 + r.number * 10**15
    sent_lag = rng.integers(30, 300, c.n_orders)
    server = rng.integers(0, len(TOAST_SERVERS), c.n_orders)
    table = rng.integers(1, 31, c.n_orders)
    wall_open = _toast_wall(c.o_utc, r.timezone)
    wall_sent = _toast_wall(c.o_utc + sent_lag, r.timezone)
    wall_paid = _toast_wall(c.o_close, r.timezone)
    wall_closed = _toast_wall(c.o_close + 60, r.timezone)
    d2 = lambda m: fmt_decimal(int(m))  # noqa: E731
    line_id = lambda o, i: str(base + 1000 * (c.id_offset + o) + 10 + int(c.l_no[i]))  # noqa: E731
    days: dict[int, dict[str, list[list[Any]]]] = {}

    def day(b: int) -> dict[str, list[list[Any]]]:
        return days.setdefault(int(b), {name: [] for name, _ in TOAST_EXPORT_FILES})

    parts = _toast_parts(c)
    display = 0
    last_day = -1
    for o in np.flatnonzero(c.o_bd >= since).tolist():
        flav = int(c.o_flavour[o]) if c.o_void[o] else -1
        if flav == 1:
            continue  # a deleted order (its checks moved elsewhere) is not in the export
        bd = int(c.o_bd[o])
        display = display + 1 if bd == last_day else 1
        last_day = bd
        rows = day(bd)
        order_id = str(base + 1000 * (c.id_offset + o))
        dine = "Dine In" if c.o_dine_in[o] else "Take Out"
        srv = TOAST_SERVERS[int(server[o])]
        voided = bool(c.o_void[o])
        amount = discount = tax_total = 0
        check_numbers = []
        for part in parts[o]["checks"]:
            k = part["k"]
            check_id = str(base + 1000 * o + 1 + k)
            check_no = 2 * display + k - 1
            check_numbers.append(str(check_no))
            names = []
            for i, kids in part["tops"]:
                price = int(c.l_net[i]) + sum(int(c.l_net[j]) for j in kids)
                gross = int(c.l_gross[i]) + sum(int(c.l_gross[j]) for j in kids)
                void = voided or c.l_kind[i] == VOID
                names.append(c.name(i))
                rows["ItemSelectionDetails.csv"].append(
                    [r.name, order_id, display, wall_sent[o], wall_open[o], check_id, srv,
                     int(table[o]), "Main Dining", "Dinner", dine, line_id(o, i),
                     "", "", "", "", c.name(i), "", c.category(i), "Harbor Grill Menu", "",
                     d2(gross), d2(gross - price), d2(price), f"{float(c.l_qty[i]):.1f}",
                     f"{tax_of(price, r.tax_bp) / 100:.8f}", "true" if void else "false", "false",
                     "false", "Tax Not Included", "No Effect", ""]
                )  # fmt: skip
            net = 0 if voided else part["net"]
            disc = (
                0
                if voided
                else sum(int(c.l_disc[i]) for i, _ in part["tops"] if c.l_kind[i] != VOID)
            )
            tax = tax_of(net, r.tax_bp)
            amount, discount, tax_total = amount + net, discount + disc, tax_total + tax
            date_s, time_s = _toast_check_time(wall_open[o])
            rows["CheckDetails.csv"].append(
                ["", "", "", "", "", date_s, time_s, ", ".join(names), srv, d2(tax),
                 "" if voided else ("Cash" if c.o_tender[o] else "Credit"), check_id, check_no,
                 d2(net + tax), "", int(c.o_guests[o]), d2(disc), "Promo" if disc else "", ""]
            )  # fmt: skip
            if voided:
                continue
            refunded = sum(a for _, a in part["refunds"].values())
            ts = max((t for t, _ in part["refunds"].values()), default=0)
            refund_bd = business_day(np.array([ts]), r.timezone, r.cutoff_hour)[0]
            pay = {
                "id": str(base + 1000 * o + 3 + k),
                "order": order_id,
                "display": display,
                "paid": wall_paid[o],
                "opened": wall_open[o],
                "check": check_id,
                "check_no": check_no,
                "server": srv,
                "table": int(table[o]),
                "dine": dine,
                "amount": net + tax,
                "cash": bool(c.o_tender[o]),
                "refunded": refunded,
                "refund_tax": tax_of(refunded, r.tax_bp),
                "refund_at": _toast_wall(np.array([ts]), r.timezone)[0] if refunded else "",
                "status": "FULL" if len(part["refunds"]) == part["n_sale"] else "PARTIAL",
            }
            same_day = bool(refunded) and int(refund_bd) == bd
            rows["PaymentDetails.csv"].append(_toast_payment_row(r, pay, refund=same_day))
            if refunded and not same_day:  # the refund shows in its own day's export
                day(int(refund_bd))["PaymentDetails.csv"].append(
                    _toast_payment_row(r, pay, refund=True)
                )
        rows["OrderDetails.csv"].append(
            [r.name, order_id, display, ", ".join(check_numbers), wall_open[o],
             int(c.o_guests[o]), "", srv, int(table[o]), "Dining Room", "Main Dining", "Dinner",
             dine, d2(discount), d2(amount), d2(tax_total), "0.00", "0.00",
             d2(amount + tax_total), "true" if voided else "false",
             "" if voided else wall_paid[o], "" if voided else wall_closed[o],
             "" if voided else _hms(int(c.o_close[o] - c.o_utc[o])),
             "In Store"]
        )  # fmt: skip
    written = 0
    for b in sorted(days):
        folder = root / _date(b).strftime("%Y%m%d")
        for name, header in TOAST_EXPORT_FILES:
            written += write_csv(folder / name, header, days[b][name], gz=False)
    return written


def _square_ids(rng: np.random.Generator, n: int) -> list[str]:
    """Square order/payment ids as the Orders API and the Items export show them (29 characters,
    e.g. ``4S5oaeKrPyyWWst4wAvuQJ3qn6PZY``)."""
    return [f"{x}ZY" for x in rand_ids(rng, n, 27, B62)]


def _square_kids(c: Canon, s: int, e: int) -> dict[int, list[int]]:
    """Modifier line indexes of each top-level line number of an order."""
    kids: dict[int, list[int]] = {}
    for i in range(s, e):
        if c.l_parent[i]:
            kids.setdefault(int(c.l_parent[i]), []).append(i)
    return kids


def _square(c: Canon, path: Path, seed: int) -> int:
    """The dashboard's Items export: one row per item sold or refunded, newest first."""
    rng = _rng(seed, 200, c.r.number)
    r = c.r
    n = c.n_orders
    starts = c.line_starts()
    txn = _square_ids(rng, n)
    pay = _square_ids(rng, n)
    pan = rng.integers(0, 10000, n)
    brand = rng.choice(
        ["Visa", "MasterCard", "American Express", "Discover"], n, p=[0.5, 0.35, 0.1, 0.05]
    )
    device = rng.choice(["Square Terminal 2274", "Square Register 0417"], n, p=[0.7, 0.3])
    tokens = rand_ids(_rng(seed, 201, r.number), len(r.menu), 24, B36)
    local = to_local(c.o_utc, r.timezone)
    lstr = iso_seconds(local)
    r_local = iso_seconds(to_local(c.r_ts, r.timezone)) if len(c.r_ts) else []
    money = lambda m: fmt_money(int(m), r.currency)  # noqa: E731
    rows: list[tuple[Any, ...]] = []
    for o in range(n):
        if c.o_void[o]:
            continue  # voided items never reach this export
        s, e = starts[o], starts[o + 1]
        kids = _square_kids(c, s, e)
        for i in range(s, e):
            if c.l_parent[i] or c.l_kind[i] == VOID:
                continue
            mods = kids.get(int(c.l_no[i]), [])
            gross = int(c.l_gross[i]) + sum(int(c.l_gross[j]) for j in mods)
            net = int(c.l_net[i]) + sum(int(c.l_net[j]) for j in mods)
            rows.append(
                (
                    (-int(c.o_utc[o]), o, 0, int(c.l_no[i])),
                    _square_row(
                        c,
                        i,
                        lstr[o],
                        money,
                        qty=float(c.l_qty[i]),
                        gross=gross,
                        disc=-int(c.l_disc[i]),
                        net=net,
                        mods=", ".join(c.name(j) for j in mods),
                        txn=txn[o],
                        pay=pay[o],
                        device=device[o],
                        event="Payment",
                        o=o,
                        brand=brand[o],
                        pan=pan[o],
                        token=tokens[c.l_item[i]],
                    ),
                )
            )
    for k in range(len(c.r_order)):
        o, ln = int(c.r_order[k]), int(c.r_line[k])
        i = int(starts[o] + ln - 1)
        assert c.l_no[i] == ln
        mods = [j for j in range(i + 1, starts[o + 1]) if c.l_parent[j] == ln]
        gross = int(c.l_gross[i]) + sum(int(c.l_gross[j]) for j in mods)
        rows.append(
            (
                (-int(c.r_ts[k]), o, 1, ln),
                _square_row(
                    c,
                    i,
                    r_local[k],
                    money,
                    qty=-float(c.r_qty[k]),
                    gross=-gross,
                    disc=int(c.l_disc[i]),
                    net=-int(c.r_amount[k]),
                    mods=", ".join(c.name(j) for j in mods),
                    txn=txn[o],
                    pay=pay[o],
                    device=device[o],
                    event="Refund",
                    o=o,
                    brand=brand[o],
                    pan=pan[o],
                    token=tokens[c.l_item[i]],
                ),
            )
        )
    rows.sort(key=lambda x: x[0])  # newest first, as the dashboard exports
    return write_csv(path, SQUARE_HEADER, (row for _, row in rows))


def _square_qty(q: float) -> str:
    """The Items export's ``Qty``: ``1.0``, ``-2.0``, ``1.5``."""
    return f"{q:.1f}" if abs(q - round(q)) < 1e-9 else fmt_qty(q)


def _square_row(
    c: Canon,
    i: int,
    local_iso: str,
    money: Callable[[int], str],
    *,
    qty: float,
    gross: int,
    disc: int,
    net: int,
    mods: str,
    txn: str,
    pay: str,
    device: str,
    event: str,
    o: int,
    brand: str,
    pan: int,
    token: str,
) -> tuple[Any, ...]:
    r = c.r
    cash = bool(c.o_tender[o])
    category = c.category(i)
    return (
        local_iso[:10],
        local_iso[11:],
        r.square_tz_name,
        "None" if category == "Drinks" else category,  # the seller never categorised drinks
        c.name(i),
        _square_qty(qty),
        "Regular",
        "",
        mods,
        money(gross),
        money(disc),
        money(net),
        money(tax_of(net, r.tax_bp)),
        txn,
        pay,
        device,
        "",
        SQUARE_DETAILS.format(txn=txn, location=r.pos_location_id),
        event,
        r.square_location_name,
        "For Here" if c.o_dine_in[o] else "To Go",
        "",
        "",
        "",
        "ea",
        fmt_qty(abs(qty)) if event == "Payment" else fmt_qty(qty),
        "",
        "Physical Good",
        "$0.00" if r.currency == "USD" else money(0),
        "",
        "",
        r.square_location_name,
        token,
        "" if cash else brand,
        "" if cash else f"{pan:04d}",
    )


def _sq_money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": int(amount), "currency": currency}


def _sq_time(sec: int, ms: int) -> str:
    """RFC 3339 in UTC with milliseconds, as the Orders API writes it."""
    return f"{iso_seconds(np.array([sec]))[0]}.{ms:03d}Z"


def _sq_line(
    c: Canon, i: int, kids: list[int], uid: str, mod_uids: list[str], tax_uid: str
) -> tuple[dict[str, Any], int, int, int]:
    """One OrderLineItem (modifiers inside) and its gross, discount and inclusive VAT.

    Prices in the Orders API include the VAT (``INCLUSIVE`` tax); the canonical amounts are before
    tax, so each price is raised by the VAT and the line's tax is whatever makes
    gross - discount - tax the canonical net exactly.
    """
    r = c.r
    cur = r.currency
    qty = float(c.l_qty[i])
    q = round(qty)
    unit_incl = int(c.l_unit[i]) + tax_of(int(c.l_unit[i]), r.tax_bp)
    variation = unit_incl * q
    mods = []
    mod_total = 0
    for j, m_uid in zip(kids, mod_uids, strict=True):
        m_unit = int(c.l_unit[j]) + tax_of(int(c.l_unit[j]), r.tax_bp)
        total = m_unit * q
        mod_total += total
        mods.append(
            {
                "uid": m_uid,
                "catalog_object_id": f"MOD{int(c.l_mod[j]):05d}",
                "name": c.name(j),
                "quantity": "1",
                "base_price_money": _sq_money(m_unit, cur),
                "total_price_money": _sq_money(total, cur),
            }
        )
    gross = variation + mod_total
    if c.l_kind[i] == COMP:
        disc = variation  # comped items keep free modifiers only
    else:
        disc = int(c.l_disc[i]) + tax_of(int(c.l_disc[i]), r.tax_bp)
    net = int(c.l_net[i]) + sum(int(c.l_net[j]) for j in kids)
    tax = gross - disc - net
    line: dict[str, Any] = {
        "uid": uid,
        "catalog_object_id": f"VAR{int(c.l_item[i]):05d}",
        "catalog_version": 1727776800000,
        "quantity": str(q),
        "name": c.name(i),
        "variation_name": "Regular",
        "base_price_money": _sq_money(unit_incl, cur),
    }
    if mods:
        line["modifiers"] = mods
    if disc:
        line["applied_discounts"] = [
            {
                "uid": f"{uid}-d",
                "discount_uid": "comp" if c.l_kind[i] == COMP else "promo",
                "applied_money": _sq_money(disc, cur),
            }
        ]
    line["applied_taxes"] = [
        {"uid": f"{uid}-t", "tax_uid": tax_uid, "applied_money": _sq_money(tax, cur)}
    ]
    line.update(
        {
            "gross_sales_money": _sq_money(gross, cur),
            "total_tax_money": _sq_money(tax, cur),
            "total_discount_money": _sq_money(disc, cur),
            "total_money": _sq_money(gross - disc, cur),
            "variation_total_price_money": _sq_money(variation, cur),
            "item_type": "ITEM",
            "total_service_charge_money": _sq_money(0, cur),
        }
    )
    return line, gross, disc, tax


def _sq_tax(uid: str, c: Canon, applied: int) -> dict[str, Any]:
    return {
        "uid": uid,
        "name": "MwSt" if c.r.country == "DE" else "Tax",
        "percentage": f"{c.r.tax_bp / 100:.1f}",
        "type": "INCLUSIVE",
        "scope": "ORDER",
        "applied_money": _sq_money(applied, c.r.currency),
    }


def _square_orders(c: Canon, path: Path, seed: int) -> int:
    """SearchOrders responses (``{"orders", "cursor"}`` pages in one JSON array), closed_at order.

    Sales are COMPLETED orders closed at the canonical instant (created a few minutes before);
    voided orders are CANCELED; voided single items are left out (Square drops them); each
    refund is a return order (``returns[].return_line_items`` plus its ``refunds[]``) closed when
    refunded. Returns the number of orders written.
    """
    rng = _rng(seed, 210, c.r.number)
    r = c.r
    cur = r.currency
    n = c.n_orders
    starts = c.line_starts()
    order_id = _square_ids(rng, n)
    opened_before = rng.integers(60, 1500, n)
    ms = rng.integers(0, 1000, (n, 2))
    line_uid = rand_ids(rng, len(c.l_order), 22, B62)
    tender_id = _square_ids(rng, n)
    refund_groups: dict[tuple[int, int], list[int]] = {}
    for k in range(len(c.r_order)):
        refund_groups.setdefault((int(c.r_order[k]), int(c.r_ts[k])), []).append(k)
    return_id = _square_ids(rng, len(refund_groups))
    refund_uid = rand_ids(rng, len(c.r_order) + len(refund_groups), 22, B62)
    entries: list[tuple[tuple[int, int, int], dict[str, Any]]] = []
    lines_of: dict[int, dict[int, tuple[dict[str, Any], int, int, int]]] = {}
    for o in range(n):
        s, e = starts[o], starts[o + 1]
        kids = _square_kids(c, s, e)
        void = bool(c.o_void[o])
        tax_uid = f"vat-{order_id[o][:8]}"
        lines = []
        gross_sum = disc_sum = tax_sum = promo_sum = comp_sum = 0
        built: dict[int, tuple[dict[str, Any], int, int, int]] = {}
        for i in range(s, e):
            if c.l_parent[i] or (c.l_kind[i] == VOID and not void):
                continue
            mine = kids.get(int(c.l_no[i]), [])
            got = _sq_line(c, i, mine, line_uid[i], [line_uid[j] for j in mine], tax_uid)
            built[int(c.l_no[i])] = got
            line, gross, disc, tax = got
            lines.append(line)
            gross_sum, disc_sum, tax_sum = gross_sum + gross, disc_sum + disc, tax_sum + tax
            if c.l_kind[i] == COMP:
                comp_sum += disc
            else:
                promo_sum += disc
        lines_of[o] = built
        closed = int(c.o_utc[o])
        order: dict[str, Any] = {
            "id": order_id[o],
            "location_id": r.pos_location_id,
            "source": {"name": "Square Point of Sale"},
            "line_items": lines,
            "taxes": [_sq_tax(tax_uid, c, tax_sum)],
        }
        discounts = []
        if promo_sum:
            pct = int(max(c.l_promo[s:e].max(initial=0), 0))
            discounts.append(
                {
                    "uid": "promo",
                    "name": f"{pct}% Aktion" if r.country == "DE" else f"{pct}% Off",
                    "percentage": str(pct),
                    "type": "FIXED_PERCENTAGE",
                    "scope": "ORDER",
                    "applied_money": _sq_money(promo_sum, cur),
                }
            )
        if comp_sum:
            discounts.append(
                {
                    "uid": "comp",
                    "name": "Aufs Haus" if r.country == "DE" else "Comp",
                    "percentage": "100",
                    "type": "FIXED_PERCENTAGE",
                    "scope": "LINE_ITEM",
                    "applied_money": _sq_money(comp_sum, cur),
                }
            )
        if discounts:
            order["discounts"] = discounts
        total = gross_sum - disc_sum
        order.update(
            {
                "created_at": _sq_time(closed - int(opened_before[o]), int(ms[o, 0])),
                "updated_at": _sq_time(closed, int(ms[o, 1])),
                "state": "CANCELED" if void else "COMPLETED",
                "version": 4 if void else 3,
                "total_tax_money": _sq_money(tax_sum, cur),
                "total_discount_money": _sq_money(disc_sum, cur),
                "total_tip_money": _sq_money(0, cur),
                "total_money": _sq_money(total, cur),
                "closed_at": _sq_time(closed, int(ms[o, 1])),
                "total_service_charge_money": _sq_money(0, cur),
                "net_amount_due_money": _sq_money(0, cur),
            }
        )
        if not void:
            order["tenders"] = [
                {
                    "id": tender_id[o],
                    "location_id": r.pos_location_id,
                    "transaction_id": order_id[o],
                    "created_at": _sq_time(closed, int(ms[o, 1])),
                    "amount_money": _sq_money(total, cur),
                    "type": "CASH" if c.o_tender[o] else "CARD",
                    "payment_id": tender_id[o],
                }
            ]
        entries.append(((closed, 0, o), order))
    for g, ((o, ts), ks) in enumerate(sorted(refund_groups.items())):
        tax_uid = f"rvat-{return_id[g][:8]}"
        items = []
        total = tax_sum = disc_sum = 0
        for k in ks:
            line, gross, disc, tax = lines_of[o][int(c.r_line[k])]
            assert gross - disc - tax == int(c.r_amount[k])
            uid = refund_uid[k]
            item: dict[str, Any] = {
                "uid": uid,
                "source_line_item_uid": line["uid"],
                "name": line["name"],
                "quantity": fmt_qty(float(c.r_qty[k])),
                "catalog_object_id": line["catalog_object_id"],
                "variation_name": line["variation_name"],
                "item_type": "ITEM",
            }
            if "modifiers" in line:
                item["return_modifiers"] = [
                    {
                        "uid": f"{uid}-{m}",
                        "source_modifier_uid": mod["uid"],
                        "name": mod["name"],
                        "base_price_money": mod["base_price_money"],
                        "total_price_money": mod["total_price_money"],
                    }
                    for m, mod in enumerate(line["modifiers"])
                ]
            item.update(
                {
                    "applied_taxes": [
                        {
                            "uid": f"{uid}-t",
                            "tax_uid": tax_uid,
                            "applied_money": _sq_money(tax, cur),
                        }
                    ],
                    "base_price_money": line["base_price_money"],
                    "variation_total_price_money": line["variation_total_price_money"],
                    "gross_return_money": _sq_money(gross, cur),
                    "total_tax_money": _sq_money(tax, cur),
                    "total_discount_money": _sq_money(disc, cur),
                    "total_money": _sq_money(gross - disc, cur),
                }
            )
            items.append(item)
            total, tax_sum, disc_sum = total + gross - disc, tax_sum + tax, disc_sum + disc
        when = _sq_time(ts, 0)
        ret = {
            "id": return_id[g],
            "location_id": r.pos_location_id,
            "source": {"name": "Square Point of Sale"},
            "returns": [
                {
                    "uid": refund_uid[len(c.r_order) + g],
                    "source_order_id": order_id[o],
                    "return_line_items": items,
                    "return_taxes": [
                        {
                            "uid": tax_uid,
                            "source_tax_uid": f"vat-{order_id[o][:8]}",
                            **{f: v for f, v in _sq_tax(tax_uid, c, tax_sum).items() if f != "uid"},
                        }
                    ],
                }
            ],
            "return_amounts": {
                "total_money": _sq_money(total, cur),
                "tax_money": _sq_money(tax_sum, cur),
                "discount_money": _sq_money(disc_sum, cur),
                "tip_money": _sq_money(0, cur),
                "service_charge_money": _sq_money(0, cur),
            },
            "refunds": [
                {
                    "id": f"{tender_id[o]}_{return_id[g][:12]}",
                    "location_id": r.pos_location_id,
                    "transaction_id": order_id[o],
                    "tender_id": tender_id[o],
                    "created_at": when,
                    "reason": RETURN_REASONS[int(c.r_reason[ks[0]])],
                    "amount_money": _sq_money(total, cur),
                    "status": "APPROVED",
                }
            ],
            "created_at": when,
            "updated_at": when,
            "state": "COMPLETED",
            "total_money": _sq_money(0, cur),
            "closed_at": when,
        }
        entries.append(((ts, 1, g), ret))
    entries.sort(key=lambda x: x[0])
    orders = [order for _, order in entries]
    cursors = rand_ids(rng, max(len(orders) // SQUARE_PAGE_SIZE + 1, 1), 40, B62)
    parts = ["["]
    for p, first in enumerate(range(0, max(len(orders), 1), SQUARE_PAGE_SIZE)):
        page: dict[str, Any] = {"orders": orders[first : first + SQUARE_PAGE_SIZE]}
        if first + SQUARE_PAGE_SIZE < len(orders):
            page["cursor"] = cursors[p]
        parts.append(("\n" if p == 0 else ",\n") + dump_json(page))
    parts.append("\n]\n")
    write_gz_text(path, parts)
    return len(orders)


# --- Lightspeed K-Series Financial API (r03: current V1 spec; r07: iKentoo era) ---------------

LS_VOID_REASONS = (  # the spec's voidReason enum (schema financial-apiSaleDto)
    "Broken",
    "Cooking",
    "Other",
    "Taste",
    "Unhappy Client",
    "User Mistake",
    "Waited too long",
)
LS_IKENTOO = frozenset({"r07"})  # restaurants whose file has the iKentoo-era shape
LS_PAGE_SIZE = 1000  # V1 getFinancials pageSize maximum


def _ls_b64(rng: np.random.Generator, n: int) -> list[str]:
    """``accountReference``-like ids: 16 random bytes, base64 ("57X0j3hzTZ2oo9sdVWiUog==")."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    return [base64.b64encode(bytes(row)).decode("ascii") for row in raw]


def _ls_uuids(rng: np.random.Generator, n: int) -> list[str]:
    """``accountReference`` of the iKentoo era: UUID-like ("0c901700-b964-11e7-8b58-...")."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    out = []
    for row in raw:
        h = bytes(row).hex()
        out.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:32]}")
    return out


def _ls_utc_ms(sec: np.ndarray, ms: np.ndarray) -> list[str]:
    """Epoch seconds plus milliseconds -> '2023-02-14T19:58:48.224Z' (the V1 spec's format)."""
    return [f"{s}.{int(m):03d}Z" for s, m in zip(iso_seconds(sec), ms, strict=True)]


def _ls_local(sec: np.ndarray, tz: str) -> list[str]:
    """Epoch seconds -> local time with its offset, '2020-01-14T14:30:00+02:00' (iKentoo era)."""
    loc = to_local(sec, tz)
    return [
        f"{s}{offset_str(int(w - u))}" for s, w, u in zip(iso_seconds(loc), loc, sec, strict=True)
    ]


def _ls_groups(r: Restaurant) -> dict[str, int]:
    groups: dict[str, int] = {}
    for it in r.menu:
        groups.setdefault(it.category, 141948669132800 + 10 * r.number + len(groups))
    groups.setdefault(r.mod_group, 141948669132800 + 10 * r.number + len(groups))
    return groups


def _lightspeed(c: Canon, path: Path, seed: int) -> int:
    if c.r.id in LS_IKENTOO:
        return _lightspeed_ikentoo(c, path, seed)
    return _lightspeed_v1(c, path, seed)


def _lightspeed_v1(c: Canon, path: Path, seed: int) -> int:
    """r03: a JSON array of V1 getFinancials pages (schema financial-apiFinancialDto)."""
    rng = _rng(seed, 400, c.r.number)
    r = c.r
    starts = c.line_starts()
    n, n_lines = c.n_orders, len(c.l_order)
    groups = _ls_groups(r)
    dec = fmt_decimal
    dec6 = lambda m: fmt_decimal(int(m)) + "0000"  # noqa: E731  (six decimals, as V2 documents)
    sku = {i: f"{i + 1:03d}" for i in range(len(r.menu))}
    o_ms = rng.integers(0, 1000, n)
    l_ms = o_ms[c.l_order] if n_lines else np.zeros(0, np.int64)  # lines: their order's time
    opened = _ls_utc_ms(c.o_utc, o_ms)
    closed = _ls_utc_ms(c.o_close, o_ms)
    l_time = _ls_utc_ms(c.l_ts, l_ms)
    refs = _ls_b64(rng, n + len(c.r_order) + n)
    ref_at = iter(refs)
    bookkeeping = rng.random(n)
    line_tax = [tax_of(int(x), r.tax_bp) for x in c.l_net]

    def sales_line(i: int, o: int) -> dict[str, Any]:
        net, tax, kind = int(c.l_net[i]), line_tax[i], int(c.l_kind[i])
        item = c.l_item[i] >= 0
        cat = c.category(i)
        obj: dict[str, Any] = {"id": None}  # ids are assigned once the sales are sorted
        if c.l_parent[i]:
            obj["parentLineId"] = int(c.l_parent[i])  # the parent's line number, for now
        obj.update(
            {
                "totalNetAmountWithTax": dec(net + tax),
                "totalNetAmountWithoutTax": dec6(net),
                "menuListPrice": dec(int(c.l_unit[i])),
                "serviceCharge": "0.00",
                "discountAmount": dec(int(c.l_disc[i])) if kind == COMP else "0.00",
                "taxCode": f"VAT{r.tax_bp // 100}",
                "taxAmount": dec(tax),
                "taxRatePercentage": dec(r.tax_bp),
                "accountDiscountAmount": dec(int(c.l_disc[i])) if c.l_promo[i] else "0.00",
                "totalDiscountAmount": dec(int(c.l_disc[i])),
                "sku": sku[int(c.l_item[i])] if item else f"9{int(c.l_mod[i]) + 1:02d}",
                "name": c.name(i),
                "quantity": f"{c.l_qty[i]:.3f}",
                "accountingGroup": {"accountingGroupId": groups[cat], "name": cat},
                "currency": r.currency,
                "timeofSale": l_time[i],
            }
        )
        if kind == COMP:
            obj.update(discountType="DISCOUNT", discountCode="OFFERT", discountName="Offert")
        elif c.l_promo[i]:
            pct = int(c.l_promo[i])
            obj.update(accountDiscountType="DISCOUNT", accountDiscountCode=f"PROMO{pct}")
        if kind == VOID and not c.o_void[o] and c.l_parent[i] == 0:
            obj["voidReason"] = LS_VOID_REASONS[int(c.l_reason[i]) % len(LS_VOID_REASONS)]
        return obj

    def account(
        o: int, kind: str, lines: list[dict[str, Any]], when: str, until: str
    ) -> dict[str, Any]:
        sale: dict[str, Any] = {
            "accountReference": next(ref_at),
            "accountFiscId": None,
            "receiptId": None,
            "source": {},
            "salesLines": lines,
            "payments": [],
            "timeofOpening": when,
            "timeofCloseAndPaid": until,
            "cancelled": False,
            "tableNumber": str(1 + o % 18) if c.o_dine_in[o] else "",
            "accountProfileCode": "AAP" if c.o_dine_in[o] else "TAKEAWAY",
            "ownerName": "Manager",
            "ownerId": 14670,
            "type": kind,
            "externalReferences": [],
            "nbCovers": float(c.o_guests[o]),
            "dineIn": bool(c.o_dine_in[o]),
            "deviceId": 75000 + r.number,
        }
        return sale

    def pay(total: int, when: str, cash: bool) -> dict[str, Any]:
        return {
            "code": "CASH" if cash else "CARD",
            "description": "Cash" if cash else "Card",
            "netAmountWithTax": dec(total),
            "currency": r.currency,
            "tip": "0.00",
            "type": "NORMAL",
            "fiscId": None,
            "fiscDate": when,
        }

    records: list[tuple[int, int, dict[str, Any]]] = []  # (sort instant, order, sale)
    original: dict[int, dict[str, Any]] = {}
    for o in range(n):
        s, e = starts[o], starts[o + 1]
        lines = [sales_line(i, o) for i in range(s, e)]
        sale = account(o, "SALE", lines, opened[o], closed[o])
        if c.o_void[o]:
            flav = int(c.o_flavour[o])
            if flav == 0:
                sale["cancelled"] = True
            elif flav == 1:
                sale["type"] = "VOID"
                sale["voidReason"] = LS_VOID_REASONS[o % len(LS_VOID_REASONS)]
            else:
                sale["type"], sale["cancelled"] = "CANCEL", True
        else:
            total = sum(int(c.l_net[i]) + line_tax[i] for i in range(s, e) if c.l_kind[i] != VOID)
            sale["payments"] = [pay(total, closed[o], bool(c.o_tender[o]))]
        original[o] = sale
        split = len({int(x) for x in c.l_check[s:e]}) > 1
        if split or (not c.o_void[o] and bookkeeping[o] < 0.02):
            # the account the items came from: a split bill's parent or a transferred bar tab;
            # its items are reported by the sale above, so it must never count
            copy_lines = [sales_line(i, o) for i in range(s, e)]
            kind = "SPLIT" if split else "TRANSFER"
            records.append((int(c.o_utc[o]), 0, account(o, kind, copy_lines, opened[o], opened[o])))
        records.append((int(c.o_utc[o]), 1, sale))
    # refunds: one REFUND sale per refund event, dated at the refund
    events: dict[tuple[int, int], list[int]] = {}
    for k in range(len(c.r_order)):
        events.setdefault((int(c.r_order[k]), int(c.r_ts[k])), []).append(k)
    for (o, ts), ks in events.items():
        when = _ls_utc_ms(np.array([ts]), np.array([0]))[0]
        lines = []
        total = 0
        for k in ks:
            i = int(starts[o] + c.r_line[k] - 1)
            amt = int(c.r_amount[k])
            tax = tax_of(amt, r.tax_bp)
            total += amt + tax
            cat = c.category(i)
            lines.append(
                {
                    "id": None,
                    "totalNetAmountWithTax": dec(-(amt + tax)),
                    "totalNetAmountWithoutTax": dec6(-amt),
                    "taxAmount": dec(-tax),
                    "totalDiscountAmount": "0.00",
                    "sku": sku[int(c.l_item[i])],
                    "name": c.name(i),
                    "quantity": f"{-c.r_qty[k]:.3f}",
                    "accountingGroup": {"accountingGroupId": groups[cat], "name": cat},
                    "currency": r.currency,
                    "timeofSale": when,
                }
            )
        sale = account(o, "REFUND", lines, when, when)
        sale["nbCovers"] = 0.0
        sale["source"] = {"initialAccountId": original[o], "previousAccountId": original[o]}
        sale["payments"] = [pay(-total, when, False)]
        records.append((ts, 2, sale))
    records.sort(key=lambda x: (x[0], x[1]))
    dev = 65000 + r.number
    seq_r = seq_s = seq_t = c.id_offset
    for seq_a, (_, _, sale) in enumerate(records, start=c.id_offset + 1):
        sale["accountFiscId"] = f"A{dev}.{seq_a}"
        if sale["type"] in ("SALE", "REFUND", "VOID", "CANCEL"):  # accounts with a receipt
            seq_r += 1
            sale["receiptId"] = f"R{dev}.{seq_r}"
        else:
            del sale["receiptId"]
        ids: dict[int, str] = {}
        for no, line in enumerate(sale["salesLines"], start=1):
            seq_s += 1
            line["id"] = ids[no] = f"S{dev}.{seq_s}"
        for line in sale["salesLines"]:
            if "parentLineId" in line:
                line["parentLineId"] = ids[line["parentLineId"]]
        for p in sale["payments"]:
            seq_t += 1
            p["fiscId"] = f"T{dev}.{seq_t}"
    for _, _, sale in records:
        src = sale["source"]
        if src:  # a refund: the original sale's account
            sale["source"] = {k: v["accountFiscId"] for k, v in src.items()}
        else:
            sale["source"] = {"initialAccountId": sale["accountFiscId"]}
    # pages of LS_PAGE_SIZE sales, as a script saving each page of getFinancials would
    blid = int(r.pos_location_id)
    first, last = (int(c.o_bd.min()), int(c.o_bd.max())) if n else (0, 0)
    day_start = localize(
        np.array([first * 86400 + r.cutoff_hour * 3600, (last + 1) * 86400 + r.cutoff_hour * 3600]),
        r.timezone,
    )
    span = f"{iso_seconds(day_start[:1])[0]}Z/{iso_seconds(day_start[1:])[0]}Z"
    base = (
        f"https://api.lsk.lightspeed.app/f/finance/{blid}/financials/{span}"
        f"?pageSize={LS_PAGE_SIZE}&include=payments"
    )
    next_day = _ls_local(day_start[1:], r.timezone)[0]
    pages = [records[k : k + LS_PAGE_SIZE] for k in range(0, len(records), LS_PAGE_SIZE)] or [[]]
    parts = ["["]
    for p, page in enumerate(pages):
        links: dict[str, Any] = {
            "self": {
                "href": base + (f"&nextPageToken={page[0][2]['accountFiscId']}" if p else ""),
                "templated": True,
            }
        }
        if p + 1 < len(pages):
            token = pages[p + 1][0][2]["accountFiscId"]
            links["nextPage"] = {"href": f"{base}&nextPageToken={token}", "templated": True}
        sales = Raw("[\n" + ",\n".join(dump_json(s) for _, _, s in page) + "\n]")
        envelope = {
            "businessName": r.name,
            "nextStartOfDayAsIso8601": next_day,
            "businessLocationId": blid,
            "sales": sales,
            "dataComplete": True,
            "_links": links,
        }
        parts.append(("\n" if p == 0 else ",\n") + dump_json(envelope))
    parts.append("\n]\n")
    write_gz_text(path, parts)
    return len(records)


def _lightspeed_ikentoo(c: Canon, path: Path, seed: int) -> int:
    """r07: one iKentoo-era financials response (FinancialService.php's shape): local times with
    an offset, no receiptId, lines without id (so modifiers are folded into their item's line,
    which an export without line ids cannot link) and without totalNetAmountWithoutTax."""
    rng = _rng(seed, 400, c.r.number)
    r = c.r
    starts = c.line_starts()
    n = c.n_orders
    groups = _ls_groups(r)
    dec = fmt_decimal
    dec4 = lambda m: fmt_decimal(int(m)) + "00"  # noqa: E731  ("4.6296": four decimals)
    opened = _ls_local(c.o_utc, r.timezone)
    closed = _ls_local(c.o_close, r.timezone)
    refs = _ls_uuids(rng, n + len(c.r_order))
    ref_at = iter(refs)

    def line_of(
        name: str, cat: str, sku: str, qty: float, net: int, unit: int, disc: int
    ) -> dict[str, Any]:
        tax = tax_of(net, r.tax_bp)
        return {
            "totalNetAmountWithTax": dec(net + tax),
            "menuListPrice": dec(unit),
            "serviceCharge": "0.00",
            "serviceChargeRate": "0.00",
            "discountAmount": dec(disc),
            "totalDiscountAmount": dec(disc),
            "taxAmount": dec4(tax),
            "sku": sku,
            "name": name,
            "quantity": f"{qty:.3f}",
            "taxRatePercentage": dec(r.tax_bp),
            "accountingGroup": {
                "accountingGroupId": groups[cat],
                "name": cat,
                "code": str(groups[cat] % 10000),
            },
            "currency": r.currency,
            "categories": [{"category": "default", "value": cat}],
        }

    def sale_of(
        o: int, kind: str, lines: list[dict[str, Any]], when: str, until: str
    ) -> dict[str, Any]:
        return {
            "accountReference": next(ref_at),
            "accountFiscId": None,
            "source": {},
            "salesLines": lines,
            "payments": [],
            "timeOfOpening": when,
            "timeOfCloseAndPaid": until,
            "type": kind,
            "externalReferences": [],
            "nbCovers": float(c.o_guests[o]),
            "dineIn": bool(c.o_dine_in[o]),
        }

    records: list[tuple[int, int, dict[str, Any]]] = []
    original: dict[int, dict[str, Any]] = {}
    for o in range(n):
        s, e = starts[o], starts[o + 1]
        lines = []
        total = 0
        for i in range(s, e):
            if c.l_parent[i]:
                continue
            kids = [j for j in range(i + 1, e) if c.l_parent[j] == c.l_no[i]]
            net = int(c.l_net[i]) + sum(int(c.l_net[j]) for j in kids)
            cat = c.category(i)
            obj = line_of(
                c.name(i),
                cat,
                f"SKU-{int(c.l_item[i]) + 1:03d}",
                float(c.l_qty[i]),
                net,
                int(c.l_unit[i]),
                int(c.l_disc[i]),
            )
            if c.l_kind[i] == VOID and not c.o_void[o]:
                obj["voidReason"] = LS_VOID_REASONS[int(c.l_reason[i]) % len(LS_VOID_REASONS)]
            elif c.l_kind[i] != VOID:
                total += net + tax_of(net, r.tax_bp)
            lines.append(obj)
        sale = sale_of(o, "SALE", lines, opened[o], closed[o])
        sale["cancelled"] = bool(c.o_void[o])
        if not c.o_void[o]:
            sale["payments"] = [
                {
                    "code": "CARD",
                    "description": "Card",
                    "netAmountWithTax": dec(total),
                    "currency": r.currency,
                    "tip": "0.00",
                    "type": "NORMAL",
                }
            ]
        original[o] = sale
        records.append((int(c.o_utc[o]), 1, sale))
    events: dict[tuple[int, int], list[int]] = {}
    for k in range(len(c.r_order)):
        events.setdefault((int(c.r_order[k]), int(c.r_ts[k])), []).append(k)
    for (o, ts), ks in events.items():
        when = _ls_local(np.array([ts]), r.timezone)[0]
        lines = []
        total = 0
        for k in ks:
            i = int(starts[o] + c.r_line[k] - 1)
            amt = int(c.r_amount[k])
            obj = line_of(
                c.name(i),
                c.category(i),
                f"SKU-{int(c.l_item[i]) + 1:03d}",
                -float(c.r_qty[k]),
                -amt,
                int(c.l_unit[i]),
                0,
            )
            total -= amt + tax_of(amt, r.tax_bp)
            lines.append(obj)
        sale = sale_of(o, "REFUND", lines, when, when)
        sale["nbCovers"] = 0.0
        sale["cancelled"] = False
        sale["source"] = {"initialAccountId": original[o], "previousAccountId": original[o]}
        sale["payments"] = [
            {
                "code": "CARD",
                "description": "Card",
                "netAmountWithTax": dec(total),
                "currency": r.currency,
                "tip": "0.00",
                "type": "NORMAL",
            }
        ]
        records.append((ts, 2, sale))
    records.sort(key=lambda x: (x[0], x[1]))
    dev = 4000 + r.number
    for seq, (_, _, sale) in enumerate(records, start=c.id_offset + 1):
        sale["accountFiscId"] = f"A{dev}.{seq}"
    for _, _, sale in records:
        src = sale["source"]
        sale["source"] = (
            {k: v["accountFiscId"] for k, v in src.items()}
            if src
            else {
                "initialAccountId": sale["accountFiscId"],
                "previousAccountId": sale["accountFiscId"],
            }
        )
    blid = int(r.pos_location_id)
    first, last = (int(c.o_bd.min()), int(c.o_bd.max())) if n else (0, 0)
    bounds = localize(
        np.array([first * 86400 + r.cutoff_hour * 3600, (last + 1) * 86400 + r.cutoff_hour * 3600]),
        r.timezone,
    )
    lo, hi = _ls_local(bounds, r.timezone)
    sales = Raw("[\n" + ",\n".join(dump_json(s) for _, _, s in records) + "\n]")
    envelope = {
        "businessName": r.name,
        "businessLocationId": blid,
        "sales": sales,
        "dataComplete": True,
        "nextPageToken": "",
        "_links": {
            "self": {
                "href": f"https://api.ikentoo.com/finance/{blid}/financials/{lo}/{hi}"
                "?include=payments&pageSize=1000&nextPageToken="
            }
        },
    }
    write_gz_text(path, [dump_json(envelope), "\n"])
    return len(records)


def _clover(c: Canon, path: Path, seed: int) -> int:
    """``GET /v3/merchants/{mId}/orders?expand=lineItems,...`` as Clover returns it.

    The merchant id is only in the ``href`` URLs. Money is cents, times epoch milliseconds.
    Promotions are line discounts (a percentage, or an amount where the line has priced
    modifications, which a Clover percentage would also discount) or order discounts (a
    percentage where Clover's arithmetic gives the canonical discount to the cent, else an
    amount); comps are 100 % line discounts.
    """
    rng = _rng(seed, 300, c.r.number)
    r = c.r
    base = f"https://api.clover.com/v3/merchants/{r.pos_location_id}"
    starts = c.line_starts()
    n, n_lines = c.n_orders, len(c.l_order)
    oid = rand_ids(rng, n, 13, B36)
    lid = rand_ids(rng, n_lines, 13, B36)
    did = rand_ids(rng, n_lines, 13, B36)
    rid = rand_ids(rng, max(len(c.r_order), 1), 13, B36)
    odid = rand_ids(rng, n, 13, B36)
    lag = rng.integers(150, 1500, n)  # ms from the device creating the order to the server
    at_order_level = rng.random(n) < 0.5
    item_ids = rand_ids(_rng(seed, 301, r.number), len(r.menu), 13, B36)
    cat_names = sorted({it.category for it in r.menu})
    cat_ids = dict(
        zip(cat_names, rand_ids(_rng(seed, 302, r.number), len(cat_names), 13, B36), strict=True)
    )
    staff = rand_ids(_rng(seed, 303, r.number), 6, 13, B36)
    order_types = [
        {"id": t, "label": label}
        for t, label in zip(
            rand_ids(_rng(seed, 304, r.number), 2, 13, B36), ("Dine In", "To Go"), strict=True
        )
    ]
    refunds: dict[int, list[int]] = {}
    for k in range(len(c.r_order)):
        refunds.setdefault(int(c.r_order[k]), []).append(k)
    parts = ["{" + '"elements":[']
    written = 0
    for o in range(n):
        created = int(c.o_utc[o]) * 1000
        order: dict[str, Any] = {
            "href": f"{base}/orders/{oid[o]}",
            "id": oid[o],
            "currency": r.currency,
            "employee": {"id": staff[o % len(staff)]},
            "total": 0,
            "paymentState": "PAID",
            "orderType": order_types[0 if c.o_dine_in[o] else 1],
            "taxRemoved": False,
            "isVat": False,
            "state": "locked",
            "manualTransaction": False,
            "groupLineItems": False,
            "testMode": False,
            "payType": "FULL",
            "createdTime": created + int(lag[o]),
            "clientCreatedTime": created,
            "modifiedTime": int(c.o_close[o]) * 1000,
        }
        if c.o_void[o]:
            if c.o_flavour[o] != 1:
                continue  # Clover drops voided line items; most emptied orders are deleted
            order.update(paymentState="OPEN", state="open")  # an order emptied by voids
            parts.append(("\n" if written == 0 else ",\n") + dump_json(order))
            written += 1
            continue
        s, e = starts[o], starts[o + 1]
        items: list[dict[str, Any]] = []
        net_total = 0
        refunded_lines = {int(c.r_line[k]) for k in refunds.get(o, [])}
        promo: list[tuple[int, dict[str, Any]]] = []  # (line index, line item)
        for i in range(s, e):
            if c.l_kind[i] == VOID:
                continue
            net_total += int(c.l_net[i])
            if c.l_parent[i]:
                mods = items[-1].setdefault("modifications", {"elements": []})["elements"]
                mods.append({"id": did[i], "name": c.name(i), "amount": int(c.l_unit[i])})
                continue
            it = r.menu[c.l_item[i]]
            li: dict[str, Any] = {
                "id": lid[i],
                "item": {
                    "id": item_ids[c.l_item[i]],
                    "categories": {"elements": [{"id": cat_ids[it.category], "name": it.category}]},
                },
                "name": it.name,
                "price": int(c.l_unit[i]),
            }
            if c.l_unitqty[i]:
                li["unitQty"] = int(c.l_unitqty[i])
                li["unitName"] = "lb"
            li["createdTime"] = created
            li["exchanged"] = False
            li["refunded"] = int(c.l_no[i]) in refunded_lines
            li["isRevenue"] = True
            if c.l_kind[i] == COMP:
                li["discounts"] = {"elements": [{"id": did[i], "name": "Comp", "percentage": 100}]}
            elif c.l_disc[i]:
                promo.append((i, li))
            items.append(li)
        _clover_promotions(c, items, promo, order, (odid[o], did), bool(at_order_level[o]))
        order["total"] = net_total + tax_of(net_total, r.tax_bp)
        order["lineItems"] = {"elements": items}
        if o in refunds:
            ks = refunds[o]
            elements = []
            for k in ks:
                amount = int(c.r_amount[k])
                tax = tax_of(amount, r.tax_bp)
                when = int(c.r_ts[k]) * 1000
                elements.append(
                    {
                        "id": rid[k],
                        "orderRef": {"id": oid[o]},
                        "amount": amount + tax,
                        "taxAmount": tax,
                        "tipAmount": 0,
                        "createdTime": when + 700,
                        "clientCreatedTime": when,
                        "lineItems": {"elements": [{"id": lid[s + int(c.r_line[k]) - 1]}]},
                    }
                )
            order["refunds"] = {"elements": elements}
            whole = all(li["refunded"] for li in items)
            order["paymentState"] = "REFUNDED" if whole else "PARTIALLY_REFUNDED"
        parts.append(("\n" if written == 0 else ",\n") + dump_json(order))
        written += 1
    parts.append(
        "\n],"
        + f'"href":"{base}/orders?expand=lineItems,lineItems.modifications,'
        + 'lineItems.discounts,discounts,refunds,credits&limit=1000&offset=0"'
        + "}\n"
    )
    write_gz_text(path, parts)
    return written


def _clover_promotions(
    c: Canon,
    items: list[dict[str, Any]],
    promo: list[tuple[int, dict[str, Any]]],
    order: dict[str, Any],
    ids: tuple[str, list[str]],
    at_order_level: bool,
) -> None:
    """Writes an order's promotion (canonical: a percentage of its promoted items' gross, rounded
    per line) as Clover discounts whose arithmetic gives the same cents."""
    if not promo:
        return
    order_discount_id, did = ids
    pct = int(c.l_promo[promo[0][0]])
    disc = sum(int(c.l_disc[i]) for i, _ in promo)
    name = f"{pct}% Off"

    def mods(li: dict[str, Any]) -> int:
        return sum(int(m["amount"]) for m in li.get("modifications", {}).get("elements", []))

    if at_order_level:
        # Clover takes the order's percentage of the sum of its line items after their own
        # discounts (comps 0), rounded half up: exact only when that sum is the promoted items'
        # gross (no priced modifiers, no unpromoted item) and the rounding agrees
        subtotal = sum(
            0
            if "discounts" in li
            else int(round_div(int(li["price"]) * li.get("unitQty", 1000), 1000)) + mods(li)
            for li in items
        )
        promoted = sum(int(c.l_gross[i]) for i, _ in promo)
        exact = subtotal == promoted and int(round_div(subtotal * pct, 100)) == disc
        value: dict[str, Any] = {"percentage": pct} if exact else {"amount": -disc}
        order["discounts"] = {"elements": [{"id": order_discount_id, "name": name, **value}]}
        return
    for i, li in promo:  # a Clover line percentage would also take the modifiers' share
        value = {"amount": -int(c.l_disc[i])} if mods(li) else {"percentage": pct}
        li["discounts"] = {"elements": [{"id": did[i], "name": name, **value}]}


REVEL_ORDER_COLUMNS = (
    "order_id",
    "gross_amount",
    "net_amount",
    "tax_amount",
    "tax_excluded_amount",
    "discount_amount",
    "service_fee_amount",
    "sales_amount",
    "created_by_employee_first_name",
    "created_by_employee_last_name",
    "created_by_employee_is_active",
    "last_updated_by_employee_first_name",
    "last_updated_by_employee_last_name",
    "last_updated_by_employee_is_active",
    "order_created_at",
    "order_updated_at",
    "establishment_id",
    "number_of_people",
    "is_voided",
    "dining_option",
)
REVEL_ITEM_COLUMNS = (
    "order_id",
    "order_created_at",
    "order_updated_at",
    "created_by_employee_first_name",
    "created_by_employee_last_name",
    "establishment_id",
    "order_item_id",
    "created_date",
    "product_name",
    "product_class",
    "quantity",
    "price",
    "pure_sales",
    "discount_amount",
    "tax_amount",
    "is_voided",
    "void_reason",
    "is_return",
    "return_reason",
)
REVEL_EMPLOYEES = (("Ana", "Silva"), ("Marc", "Tremblay"), ("Priya", "Nair"))


def _revel(c: Canon, order_path: Path, item_path: Path, seed: int) -> tuple[int, int]:
    """Revel Data Connector ``wide_order`` and ``wide_order_item`` (money with six decimals)."""
    r = c.r
    starts = c.line_starts()
    n = c.n_orders
    base_order = 100_000 + c.id_offset
    exp = CURRENCY_EXPONENT.get(r.currency, 2)

    def dec(minor: int) -> str:  # the Data Connector writes numeric(.., 6): 40.500000
        return fmt_decimal(minor, exp) + "0" * (6 - exp) if exp else f"{int(minor)}.000000"

    def utc_str(sec: np.ndarray) -> list[str]:
        return [s.replace("T", " ") for s in iso_seconds(sec)] if len(sec) else []

    o_created = utc_str(c.o_utc)
    refunds: dict[int, list[int]] = {}
    for k in range(len(c.r_order)):
        refunds.setdefault(int(c.r_order[k]), []).append(k)
    updated = c.o_close.copy()
    for o, ks in refunds.items():
        updated[o] = max(int(updated[o]), int(c.r_ts[ks[0]]))
    o_updated = utc_str(updated)
    order_rows = []
    for o in range(n):
        s, e = starts[o], starts[o + 1]
        live = (c.l_kind[s:e] != VOID) | bool(c.o_void[o])
        gross = int(c.l_gross[s:e][live].sum())
        disc = int(c.l_disc[s:e][live].sum())
        net = gross - disc
        first, last = REVEL_EMPLOYEES[o % len(REVEL_EMPLOYEES)]
        order_rows.append(
            (
                base_order + o,
                dec(gross),
                dec(net),
                dec(tax_of(net, r.tax_bp)),
                dec(0),
                dec(disc),
                dec(0),
                dec(gross),
                first,
                last,
                "true",
                first,
                last,
                "true",
                o_created[o],
                o_updated[o],
                r.pos_location_id,
                int(c.o_guests[o]),
                "true" if c.o_void[o] else "false",
                "Dine In" if c.o_dine_in[o] else "Take Out",
            )
        )
    n_orders = write_csv(order_path, REVEL_ORDER_COLUMNS, order_rows)
    # items (no modifier rows: an item's pure_sales includes its modifiers; the modifiers would
    # be the separate wide_order_item_modifier model), then returns, in time order; ids assigned
    # in that order
    recs: list[tuple[int, int, int, int]] = []  # (ts, order, line_no, refund index or -1)
    for i in range(len(c.l_order)):
        if not c.l_parent[i]:
            recs.append((int(c.l_ts[i]), int(c.l_order[i]), int(c.l_no[i]), -1))
    for k in range(len(c.r_order)):
        recs.append((int(c.r_ts[k]), int(c.r_order[k]), 1000 + int(c.r_line[k]), k))
    recs.sort()
    ts_str = utc_str(np.array([x[0] for x in recs], np.int64))
    rows = []
    next_id = 500_000_000 + c.id_offset
    for (_, o, ln, k), when in zip(recs, ts_str, strict=True):
        next_id += 1
        first, last = REVEL_EMPLOYEES[o % len(REVEL_EMPLOYEES)]
        head = (base_order + o, o_created[o], o_updated[o], first, last, r.pos_location_id)
        if k < 0:
            i = int(starts[o] + ln - 1)
            kids = [j for j in range(i + 1, int(starts[o + 1])) if c.l_parent[j] == c.l_no[i]]
            net = int(c.l_net[i]) + sum(int(c.l_net[j]) for j in kids)
            void = int(c.l_kind[i]) == VOID
            rows.append(
                (
                    *head,
                    next_id,
                    when,
                    c.name(i),
                    c.category(i),
                    fmt_qty(c.l_qty[i]),
                    dec(int(c.l_unit[i])),
                    dec(net),
                    dec(int(c.l_disc[i])),
                    dec(tax_of(net, r.tax_bp)),
                    "true" if void else "false",
                    ("Order voided" if c.o_void[o] else VOID_REASONS[int(c.l_reason[i])])
                    if void
                    else "",
                    "false",
                    "",
                )
            )
        else:
            i = int(starts[o] + c.r_line[k] - 1)
            amount = -int(c.r_amount[k])
            rows.append(
                (
                    *head,
                    next_id,
                    when,
                    c.name(i),
                    c.category(i),
                    fmt_qty(-c.r_qty[k]),
                    dec(int(c.l_unit[i])),
                    dec(amount),
                    dec(0),
                    dec(tax_of(amount, r.tax_bp)),
                    "false",
                    "",
                    "true",
                    RETURN_REASONS[int(c.r_reason[k])],
                )
            )
    n_items = write_csv(item_path, REVEL_ITEM_COLUMNS, rows)
    return n_orders, n_items


GENERIC_MAPPING = """source = "sakura_pos"          # source-system label stored on each line
restaurant = "r06"             # every row's restaurant, or map a column to restaurant_id below
timestamp_format = "%Y-%m-%d %H:%M"   # strptime; omit for ISO 8601
timezone = "local"             # local (restaurant's zone) | utc | offset (strings carry it)
money = "minor"                # minor (integer minor units) | decimal ("12.50")

[columns]                      # canonical field = the file's column
order_id = "ticket"
line_id = "line"
timestamp = "sold_at"
item = "menu_item"
category = "menu_category"     # optional
quantity = "qty"
amount = "amount_jpy"          # net amount after discounts, before tax
kind = "status"                # optional (default: every row is a sale)
covers = "guests"              # optional; the order's guests, repeated on its lines
parent_line_id = "parent_line" # optional

[kinds]                        # the file's values -> sale | void | refund | comp
sold = "sale"
void = "void"
refund = "refund"
comp = "comp"
"""


def _generic(c: Canon, path: Path, seed: int) -> int:
    rng = _rng(seed, 600, c.r.number)
    r = c.r
    starts = c.line_starts()
    register = rng.choice(["POS-1", "POS-2"], c.n_orders, p=[0.7, 0.3])
    ticket = []
    per_day: dict[int, int] = {}
    for o in range(c.n_orders):
        b = int(c.o_bd[o])
        per_day[b] = per_day.get(b, 0) + 1
        ticket.append(f"{_date(b).strftime('%Y%m%d')}-{per_day[b]:04d}")
    status = {SALE: "sold", COMP: "comp", VOID: "void"}
    recs: list[tuple[int, int, int, tuple[Any, ...]]] = []
    loc = to_local(c.l_ts, r.timezone)
    lstr = iso_seconds(loc)
    for i in range(len(c.l_order)):
        o = int(c.l_order[i])
        recs.append(
            (
                int(loc[i]),
                o,
                int(c.l_no[i]),
                (
                    ticket[o],
                    int(c.l_no[i]),
                    lstr[i][:16].replace("T", " "),
                    register[o],
                    c.name(i),
                    c.category(i),
                    fmt_qty(c.l_qty[i]),
                    int(c.l_net[i]),
                    status[int(c.l_kind[i])],
                    int(c.o_guests[o]),
                    int(c.l_parent[i]) if c.l_parent[i] else "",
                ),
            )
        )
    rloc = to_local(c.r_ts, r.timezone)
    rstr = iso_seconds(rloc) if len(rloc) else []
    next_line: dict[int, int] = {}
    for k in range(len(c.r_order)):
        o = int(c.r_order[k])
        i = int(starts[o] + c.r_line[k] - 1)
        ln = next_line.get(o, int(starts[o + 1] - starts[o])) + 1
        next_line[o] = ln
        recs.append(
            (
                int(rloc[k]),
                o,
                ln,
                (
                    ticket[o],
                    ln,
                    rstr[k][:16].replace("T", " "),
                    register[o],
                    c.name(i),
                    c.category(i),
                    fmt_qty(-c.r_qty[k]),
                    -int(c.r_amount[k]),
                    "refund",
                    int(c.o_guests[o]),
                    "",
                ),
            )
        )
    recs.sort(key=lambda x: (x[0], x[1], x[2]))
    header = (
        "ticket",
        "line",
        "sold_at",
        "register",
        "menu_item",
        "menu_category",
        "qty",
        "amount_jpy",
        "status",
        "guests",
        "parent_line",
    )
    return write_csv(path, header, (rec for *_, rec in recs))


# --------------------------------------------------------------------------------------------
# The sample data set
# --------------------------------------------------------------------------------------------


def _restaurant_row(r: Restaurant) -> tuple[Any, ...]:
    return (
        r.id,
        r.name,
        r.timezone,
        r.country,
        r.subdivision,
        r.cutoff_hour,
        r.pos_provider,
        r.pos_location_id,
        r.currency,
    )


def vendor_files(r: Restaurant) -> list[str]:
    """Relative paths of the files holding a restaurant's sales."""
    return {
        # ordersBulk JSON named after the restaurant GUID (the response does not name it), and
        # the data export's daily folders under a folder named after it too
        "toast": [f"toast/{r.pos_location_id}.json.gz", f"toast/export/{r.pos_location_id}"],
        "square": [
            f"square/orders-{r.slug}.json.gz"
            if r.square_export == "orders"
            else f"square/items-{r.slug}.csv.gz"
        ],
        "lightspeed": [f"lightspeed/sales_{r.slug}.json.gz"],
        "clover": [f"clover/orders_{r.slug}.json.gz"],
        "revel": [f"revel/wide_order_{r.slug}.csv.gz", f"revel/wide_order_item_{r.slug}.csv.gz"],
        "csv": ["generic/sakura_lines.csv.gz", "generic/sakura_lines.mapping.toml"],
    }[r.pos_provider]


def generate(
    out_dir: Path,
    *,
    start: date = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    seed: int = DEFAULT_SEED,
    restaurants: list[str] | None = None,
    scale: float = 1.0,
    readme: bool = True,
    verbose: bool = False,
) -> Path:
    """Writes the sample data set into ``out_dir`` and returns it.

    Args:
        out_dir: target directory (created).
        start: first business date.
        days: number of business dates.
        seed: random seed; the same arguments give the same bytes.
        restaurants: subset of r01..r08 (default: all). A restaurant's data does not depend on
            which others are generated.
        scale: multiplies every restaurant's order volume.
        readme: also write README.md describing the files.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = [BY_ID[x] for x in (restaurants or [r.id for r in RESTAURANTS])]
    cal = build_calendar(chosen, start, days, seed)
    stats: dict[str, int] = {}
    write_csv(
        out_dir / "restaurants.csv",
        RESTAURANT_COLUMNS,
        [_restaurant_row(r) for r in chosen],
        gz=False,
    )
    stats["restaurants.csv"] = len(chosen)
    stats["events.csv"] = write_csv(
        out_dir / "events.csv",
        EVENT_COLUMNS,
        [[e[k] for k in EVENT_COLUMNS] for e in cal.events],
        gz=False,
    )
    truths = []
    for r in chosen:
        t0 = time.perf_counter()
        c = simulate(r, cal, seed, scale)
        truths.append(ground_truth(c))
        files = vendor_files(r)
        if r.pos_provider == "toast":
            since = toast_export_start(cal.first, cal.last)
            stats[files[0]] = _toast(c, out_dir / files[0], seed, since)
            stats[files[1]] = _toast_export(c, out_dir / files[1], seed, since)
        elif r.pos_provider == "square" and r.square_export == "orders":
            stats[files[0]] = _square_orders(c, out_dir / files[0], seed)
        elif r.pos_provider == "square":
            stats[files[0]] = _square(c, out_dir / files[0], seed)
        elif r.pos_provider == "lightspeed":
            stats[files[0]] = _lightspeed(c, out_dir / files[0], seed)
        elif r.pos_provider == "clover":
            stats[files[0]] = _clover(c, out_dir / files[0], seed)
        elif r.pos_provider == "revel":
            stats[files[0]], stats[files[1]] = _revel(
                c, out_dir / files[0], out_dir / files[1], seed
            )
        elif r.pos_provider == "csv":
            stats[files[0]] = _generic(c, out_dir / files[0], seed)
            (out_dir / files[1]).write_text(GENERIC_MAPPING, encoding="utf-8")
        if verbose:
            print(
                f"{r.id}: {c.n_orders} orders, {len(c.l_order)} lines, "
                f"{len(c.r_order)} refund lines ({time.perf_counter() - t0:.1f}s)",
                file=sys.stderr,
            )
    truth = pd.concat(truths, ignore_index=True)
    stats["ground_truth.csv"] = write_csv(
        out_dir / "ground_truth.csv",
        TRUTH_COLUMNS,
        (
            (
                row.restaurant_id,
                row.business_date,
                "" if pd.isna(row.covers) else int(row.covers),
                row.orders,
                row.net_sales_minor,
                fmt_qty(row.item_quantity),
            )
            for row in truth.itertuples(index=False)
        ),
        gz=False,
    )
    if readme:
        _write_readme(out_dir, chosen, start, days, seed, scale, stats, truth)
    return out_dir


# --------------------------------------------------------------------------------------------
# Fleet mode (benchmarks)
# --------------------------------------------------------------------------------------------

FLEET_ZONES = (
    ("America/New_York", "NY", "Eastern Time (US & Canada)"),
    ("America/Chicago", "IL", "Central Time (US & Canada)"),
    ("America/Denver", "CO", "Mountain Time (US & Canada)"),
    ("America/Los_Angeles", "CA", "Pacific Time (US & Canada)"),
)
FLEET_MENU = (
    ("Cheeseburger", "Mains", 1295),
    ("Chicken Sandwich", "Mains", 1195),
    ("Caesar Salad", "Salads", 1095),
    ("Cobb Salad", "Salads", 1395),
    ("Margherita Pizza", "Pizza", 1495),
    ("Pepperoni Pizza", "Pizza", 1595),
    ("Fish Tacos", "Mains", 1350),
    ("Steak Frites", "Mains", 2450),
    ("Veggie Bowl", "Bowls", 1250),
    ("Poke Bowl", "Bowls", 1550),
    ("Fries", "Sides", 495),
    ("Onion Rings", "Sides", 595),
    ("Side Salad", "Sides", 450),
    ("Soup of the Day", "Starters", 695),
    ("Wings", "Starters", 1195),
    ("Soda", "Drinks", 300),
    ("Iced Tea", "Drinks", 350),
    ("Lemonade", "Drinks", 400),
    ("Draft Beer", "Drinks", 750),
    ("House Wine", "Drinks", 1000),
    ("Coffee", "Drinks", 300),
    ("Brownie", "Desserts", 595),
    ("Cheesecake", "Desserts", 795),
    ("Ice Cream", "Desserts", 495),
)


FLEET_MAPPING = """source = "fleet_pos"
timestamp_format = "%Y-%m-%d %H:%M"
timezone = "local"
money = "minor"

[columns]
restaurant_id = "store"
order_id = "ticket"
line_id = "line"
timestamp = "sold_at"
item = "menu_item"
category = "menu_category"
quantity = "qty"
amount = "amount_cents"
kind = "status"
covers = "guests"

[kinds]
sold = "sale"
void = "void"
refund = "refund"
comp = "comp"
"""


def generate_fleet(
    out_dir: Path,
    *,
    n: int,
    days: int,
    start: date = DEFAULT_START,
    seed: int = DEFAULT_SEED,
    fmt: str = "square",
    scale: float = 1.0,
) -> int:
    """Writes ``n`` synthetic restaurants (f00001...) for ``days`` days and returns the number of
    order lines written. Vectorised: about a million lines in a few seconds. Every sale falls
    between 10:30 and 23:24 local time, so the business date is the calendar date.

    Files: restaurants.csv, ground_truth.csv and either ``square/items-fleet.csv.gz`` (all
    locations in one export) or ``generic/fleet_lines.csv.gz`` with its mapping.
    """
    if fmt not in ("square", "generic"):
        raise ValueError(f"unknown fleet format {fmt!r} (square | generic)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = _rng(seed, 7000, n, days)
    ids = np.array([f"f{i:05d}" for i in range(1, n + 1)])
    zone = np.arange(n) % len(FLEET_ZONES)
    base = rng.uniform(15, 60, n) * scale
    dow_shape = np.array([0.8, 0.85, 0.9, 1.0, 1.3, 1.45, 1.1])
    rest_rows = [
        (
            ids[i],
            f"Fleet Restaurant {i + 1:05d}",
            FLEET_ZONES[zone[i]][0],
            "US",
            FLEET_ZONES[zone[i]][1],
            4,
            "square" if fmt == "square" else "csv",
            f"Fleet Restaurant {i + 1:05d}" if fmt == "square" else "",
            "USD",
        )
        for i in range(n)
    ]
    write_csv(out_dir / "restaurants.csv", RESTAURANT_COLUMNS, rest_rows, gz=False)

    day0 = _days(start)
    day_n = day0 + np.arange(days)
    wd = (day_n + 3) % 7
    doy = np.array([_date(d).timetuple().tm_yday for d in day_n])
    season = 1 + 0.1 * np.cos(2 * np.pi * (doy - 200) / 365.25)
    lam = (
        base[:, None] * dow_shape[wd][None, :] * season[None, :] * rng.lognormal(0, 0.12, (n, days))
    )
    closed = rng.random((n, days)) < 0.01
    cnt = np.where(closed, 0, rng.poisson(lam))
    o_rest = np.repeat(np.repeat(np.arange(n), days), cnt.ravel())
    o_day = np.repeat(np.tile(day_n, n), cnt.ravel())
    n_ord = len(o_rest)
    lunch = rng.random(n_ord) < 0.4
    hours = np.where(lunch, rng.normal(12.5, 0.9, n_ord), rng.normal(19.0, 1.5, n_ord))
    outside = (hours < 10.5) | (hours >= 23.4)
    hours = np.where(outside, rng.uniform(11.0, 22.0, n_ord), hours)
    sec = (hours * 3600).astype(np.int64)
    if fmt == "generic":
        sec -= sec % 60
    guests = rng.choice([1, 2, 3, 4, 5, 6], n_ord, p=[0.25, 0.4, 0.12, 0.15, 0.04, 0.04])
    # lines
    nl = 1 + rng.poisson(1.4, n_ord)
    l_order = np.repeat(np.arange(n_ord), nl)
    n_lq = len(l_order)
    first = np.r_[True, l_order[1:] != l_order[:-1]]
    ln = np.arange(n_lq) - np.repeat(np.cumsum(nl) - nl, nl) + 1
    prices = np.array([p for *_, p in FLEET_MENU], np.int64)
    item = rng.integers(0, len(FLEET_MENU), n_lq)
    qty = rng.choice([1, 2, 3], n_lq, p=[0.9, 0.08, 0.02])
    gross = prices[item] * qty
    u = rng.random(n_lq)
    kind = np.zeros(n_lq, np.int64)
    kind[u < 0.01] = COMP
    if fmt == "generic":
        kind[(u >= 0.01) & (u < 0.02) & ~first] = VOID
    disc = np.where(
        kind == COMP, gross, np.where(rng.random(n_lq) < 0.04, round_div(gross * 15, 100), 0)
    )
    net = gross - disc
    refund = (rng.random(n_lq) < 0.004) & (kind == SALE)
    r_idx = np.flatnonzero(refund)
    wall = o_day[l_order] * 86400 + sec[l_order]
    r_wall = wall[r_idx] + np.minimum(
        rng.integers(600, 5400, len(r_idx)), 86400 - 60 - sec[l_order][r_idx] - 1
    )
    if fmt == "generic":
        r_wall -= r_wall % 60

    # truth
    dem = kind != VOID
    o_count = np.zeros(n_ord, bool)
    o_count[l_order[dem]] = True
    key = o_rest * 100000 + (o_day - day0)
    t_orders = pd.Series(o_count.astype(np.int64)).groupby(key).sum()
    t_covers = pd.Series(np.where(o_count, guests, 0)).groupby(key).sum()
    lkey = key[l_order]
    t_net = pd.Series(np.where(dem, net, 0)).groupby(lkey).sum()
    t_qty = pd.Series(np.where(dem, qty, 0)).groupby(lkey).sum()
    tk = t_orders.index.to_numpy()
    truth = pd.DataFrame(
        {
            "restaurant_id": ids[tk // 100000],
            "business_date": np.datetime_as_string((day0 + tk % 100000).astype("datetime64[D]")),
            "covers": t_covers.to_numpy() if fmt == "generic" else "",
            "orders": t_orders.to_numpy(),
            "net_sales_minor": t_net.reindex(tk).to_numpy(),
            "item_quantity": t_qty.reindex(tk).to_numpy(),
        }
    )
    truth = truth[truth["orders"] > 0]
    truth.to_csv(out_dir / "ground_truth.csv", index=False, lineterminator="\n")

    # rows: sales then refunds, sorted by (time, order, event, line); built as strings column by
    # column (object-array concatenation is far faster than csv/pandas writers at this size)
    names = np.array([nm for nm, *_ in FLEET_MENU], dtype=object)
    cats = np.array([ct for _, ct, _ in FLEET_MENU], dtype=object)
    all_wall = np.concatenate([wall, r_wall])
    src = np.concatenate([np.arange(n_lq), r_idx])  # the line each row comes from
    is_ref = np.r_[np.zeros(n_lq, bool), np.ones(len(r_idx), bool)]
    row_ln = np.concatenate([ln, 100 + ln[r_idx]])
    order = np.lexsort((row_ln, is_ref, l_order[src], all_wall))
    all_wall, src, is_ref, row_ln = all_wall[order], src[order], is_ref[order], row_ln[order]
    sign = np.where(is_ref, -1, 1)
    day_s = np.datetime_as_string(
        np.arange(all_wall.min() // 86400, all_wall.max() // 86400 + 1).astype("datetime64[D]")
    ).astype(object)
    date_s = day_s[all_wall // 86400 - all_wall.min() // 86400]
    tod = all_wall % 86400
    rr = o_rest[l_order[src]]
    if fmt == "square":
        txn = np.array(rand_ids(rng, n_ord, 22, B62), dtype=object)
        hms = np.array(
            [f"{h:02d}:{m:02d}:{x:02d}" for h in range(24) for m in range(60) for x in range(60)],
            dtype=object,
        )

        def money(a: np.ndarray) -> np.ndarray:
            uniq, inv = np.unique(a, return_inverse=True)
            txt = [fmt_money(v, "USD") for v in uniq.tolist()]
            return np.array([f'"{t}"' if "," in t else t for t in txt], dtype=object)[inv]

        tax = round_div(net * 875, 10000)
        loc = np.array([f"{row[7]}" for row in rest_rows], dtype=object)
        tzn = np.array([FLEET_ZONES[z][2] for z in zone], dtype=object)
        event = np.array(["Payment", "Refund"], dtype=object)[is_ref.astype(np.int64)]
        t = txn[l_order[src]]
        qty_s = np.array([f"{v}.0" for v in range(-3, 4)], dtype=object)
        fields: list[Any] = [
            date_s,
            hms[tod],
            tzn[rr],
            cats[item[src]],
            names[item[src]],
            qty_s[sign * qty[src] + 3],
            "Regular",
            "",
            "",
            money(sign * gross[src]),
            money(-sign * disc[src]),
            money(sign * net[src]),
            money(sign * tax[src]),
            t,
            t,
            "Square Register 0417",
            "",
            "",
            event,
            loc[rr],
            "For Here",
            "",
            "",
            "",
            "ea",
            sign * qty[src],
            "",
            "Physical Good",
            "$0.00",
            "",
            "",
            loc[rr],
            "",
            "Visa",
            "",
        ]
        header = ",".join(SQUARE_HEADER)
        path = out_dir / "square" / "items-fleet.csv.gz"
    else:
        hm = np.array([f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)], dtype=object)
        status = np.array(["sold", "comp", "void", "refund"], dtype=object)
        ticket = np.array(
            [f"f{r + 1:05d}-{i + 1}" for i, r in enumerate(o_rest.tolist())], dtype=object
        )
        fields = [
            ids.astype(object)[rr],
            ticket[l_order[src]],
            row_ln,
            date_s + " " + hm[tod // 60],
            names[item[src]],
            cats[item[src]],
            sign * qty[src],
            sign * net[src],
            status[np.where(is_ref, 3, kind[src])],
            guests[l_order[src]],
        ]
        header = "store,ticket,line,sold_at,menu_item,menu_category,qty,amount_cents,status,guests"
        path = out_dir / "generic" / "fleet_lines.csv.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.with_name("fleet_lines.mapping.toml").write_text(FLEET_MAPPING, encoding="utf-8")
    n_rows = len(src)
    columns = [
        itertools.repeat(f, n_rows) if isinstance(f, str) else map(str, f.tolist()) for f in fields
    ]
    body = "\n".join(map(",".join, zip(*columns, strict=False)))
    write_gz_text(path, [header, "\n", body, "\n"], level=1)
    return n_rows


# --------------------------------------------------------------------------------------------
# README
# --------------------------------------------------------------------------------------------


def _write_readme(
    out: Path,
    chosen: Sequence[Restaurant],
    start: date,
    days: int,
    seed: int,
    scale: float,
    stats: dict[str, int],
    truth: pd.DataFrame,
) -> None:
    end = start + timedelta(days=days - 1)
    files = ["restaurants.csv", "events.csv", "ground_truth.csv"]
    for r in chosen:
        files.extend(vendor_files(r))
    lines = []
    for f in files:
        where = out / f
        inside = sorted(p for p in where.rglob("*") if p.is_file()) if where.is_dir() else [where]
        size = sum(p.stat().st_size for p in inside)
        rows = stats.get(f)
        lines.append(f"| `{f}` | {size:,} | {'' if rows is None else f'{rows:,}'} |")
    rest = "\n".join(
        f"| {r.id} | {r.name} | {r.timezone} | "
        f"{r.country}{'-' + r.subdivision if r.subdivision else ''} | "
        f"{r.cutoff_hour}:00 | {r.pos_provider} | {r.currency} | "
        f"{int(truth.loc[truth.restaurant_id == r.id, 'orders'].sum()):,} | "
        f"{int((truth.restaurant_id == r.id).sum())} |"
        for r in chosen
    )
    text = README_TEMPLATE.format(
        start=start.isoformat(),
        end=end.isoformat(),
        days=days,
        seed=seed,
        scale=scale,
        files="\n".join(lines),
        restaurants=rest,
    )
    (out / "README.md").write_text(text, encoding="utf-8")


README_TEMPLATE = """# Flux sample data

Synthetic but realistic POS exports for eight restaurants, in every format `flux import` reads
(`docs/formats.md`), with the daily demand they imply in `ground_truth.csv`. Everything here is
written by `generate.py`, this README included: do not edit the files by hand, regenerate them.

- Business dates {start} to {end} ({days} days), seed {seed}, volume scale {scale}.
- Deterministic: the same arguments give the same bytes (gzip with mtime 0 and no file name, JSON
  keys in a fixed order, rows in a fixed order), whatever the platform's hash seed.
- `generate.py` is standalone (standard library, numpy, pandas, `holidays`): it never imports
  Flux, so `ground_truth.csv` is an independent oracle for the importer tests.
  `tests/test_generator.py` re-reads every vendor file with small readers written from
  `docs/formats.md` and checks that they reproduce the truth exactly.

## Regenerate

```sh
.venv/bin/python sample_data/generate.py         # this data set (one to two minutes)
.venv/bin/python sample_data/generate.py --out /tmp/s --start 2025-03-01 --days 14 \\
    --restaurants r01,r04                         # a small slice (a restaurant's data does not
                                                  # depend on which others are generated)
.venv/bin/python sample_data/generate.py --fleet 100 --fleet-format square --days 365 \\
    --out /tmp/fleet                              # benchmark fleet (f00001...), square|generic
```

From Python (load the module from its path):
`generate(out_dir, *, start, days, seed=7, restaurants=None, scale=1.0) -> Path` and
`generate_fleet(out_dir, *, n, days, start, seed=7, fmt="square", scale=1.0) -> int` (the number
of order lines written; the fleet also gets `restaurants.csv`, `ground_truth.csv` and, for
`generic`, a mapping with a `restaurant_id` column).

## Restaurants

| id | name | zone | holidays | cutoff | POS | currency | demand orders | days in truth |
|---|---|---|---|---|---|---|---:|---:|
{restaurants}

- Closures (all in `events.csv`, no rows at all in the sales files): r01 and r02 on Thanksgiving
  and Christmas Day; r03 two weeks every August (from the first Monday), New Year's Day, 1 May,
  Christmas Day; r05 Christmas and New Year's Day; r06 1-3 January; r07 every Monday, Good Friday,
  Christmas Day and a renovation 2025-07-14..2025-07-27; r08 24-25 December. r04 never closes.
- r04 (cutoff 06:00) is open 17:00-05:00: about 40 % of its orders open after midnight and belong to
  the previous business day, including on all four DST-change nights (the repeated 01:00-02:00
  hour has sales at both UTC offsets; on spring-forward nights 02:xx wall times read 03:xx).
- Sales on both sides of the cutoff: r02 (cutoff 03:00) serves until 03:30 and r06 (cutoff 04:00)
  until 04:30 on Friday and Saturday nights; r01, r05 and r08 serve past midnight at weekends.

## Files

| file | bytes | rows or records |
|---|---:|---:|
{files}

Rows are CSV data rows; records are JSON orders (Toast, Clover, Square: return orders included)
or accounts (Lightspeed: sales, refunds, voids and the split and transfer records that must not
count).

- `restaurants.csv` (format `restaurants`): the eight restaurants.
- `events.csv` (format `events`): every closure as `closure` rows (holiday closures named after the
  holiday), local events with windows (`event`: NYC Marathon, Carnaval San Francisco in the Mission,
  Fête de la Musique, Chicago Marathon, TIFF, Sumidagawa fireworks, Vivid Sydney, Berliner
  Oktoberfest) and global `holiday` rows with a blank `restaurant_id` (Valentine's Day, New Year's
  Eve). Public holidays are not listed: Flux gets them from `holidays` by country and subdivision.
- `toast/<GUID>.json.gz` (r01): Toast's `ordersBulk` response (Orders API 2.6.5), one JSON array
  of orders, one per line, for every business day but the last four weeks. Named after the
  restaurant GUID (r01's `pos_location_id`) because the response does not name its restaurant.
- `toast/export/<GUID>/<yyyymmdd>/` (r01): Toast's data export for each of the last four weeks'
  business days (the last third of a shorter slice): `ItemSelectionDetails.csv`,
  `OrderDetails.csv`, `CheckDetails.csv`, `PaymentDetails.csv`, laid out like the nightly SFTP
  export (one folder per location, one per business day). No business day is in both sources.
- `square/items-mission_taqueria.csv.gz` (r02): Square Dashboard's Items export (format `square`),
  the 35 columns of a real 2026 export.
- `square/orders-brauhaus_mitte.json.gz` (r08): Orders API `SearchOrders` responses (format
  `square_orders`), one JSON array of `{{"orders": [...], "cursor": ...}}` pages of 500 orders.
- `lightspeed/sales_le_petit_zinc.json.gz` (r03): K-Series Financial API V1 `getFinancials`
  responses, a JSON array of pages (`{{"businessName", "nextStartOfDayAsIso8601",
  "businessLocationId", "sales": [...], "dataComplete", "_links"}}`) in the current spec's shape
  (`timeofOpening`, UTC). `lightspeed/sales_harbour_fish_bar.json.gz` (r07): one iKentoo-era
  response (`timeOfOpening` with a local offset, no `receiptId`, lines without `id`).
- `clover/orders_night_owl_diner.json.gz` (r04): `{{"elements": [...], "href"}}` as
  `GET /v3/merchants/{{mId}}/orders?expand=lineItems,...` returns it; merchant `7RZK2M4QX9WBA`
  (r04's `pos_location_id`) appears only inside the `href` URLs.
- `revel/wide_order_maple_rye.csv.gz` and `revel/wide_order_item_maple_rye.csv.gz` (r05): Revel
  Data Connector exports of the `wide_order` and `wide_order_item` models (either file alone
  imports: `wide_order` gives orders, covers and net sales; with both, the items decide).
- `generic/sakura_lines.csv.gz` with `generic/sakura_lines.mapping.toml` (r06): the mapping is the
  example of `docs/formats.md` verbatim; the CSV has one extra column, `register`, that the
  mapping ignores. Item names are Japanese (UTF-8).
- `ground_truth.csv`: `restaurant_id, business_date, covers, orders, net_sales_minor,
  item_quantity` for every restaurant and business date with at least one demand order.

## What the simulation contains

One canonical set of orders per restaurant (opening instant, guests, dine-in or take-out, lines
with item, category, quantity, net amount in minor units and kind, modifiers as child lines,
refunds dated later), serialised into each vendor's format. Demand follows the day of the week
(busy Friday and Saturday), the season (summer in the north, January in Sydney, winter for ramen),
a mild trend (-3 % to +10 % a year), public holidays (closed on some, busier or quieter on the
others), local events inside their windows, random bad-weather days, lunch and dinner peaks, and
noise. Menus have 19-24 items with prices in each currency (whole yen for r06); modifiers come
with and without a price; 2-5 % of orders get a 10-20 % promotion; about 1 % of items are comped,
about 1 % voided plus 0.4 % of orders voided as a whole (Square and Clover carry no voided items;
Square's Orders API shows a voided order as `CANCELED`),
and about 0.5 % of orders are refunded, up to a week later, on an open day.

## Ground truth

Computed from the canonical data with the "Demand" rules of `docs/formats.md`:

- business date = local wall time minus the cutoff hour;
- `orders`: orders with at least one top-level `sale` or `comp` line, on the business date of the
  order's opening time;
- `covers`: the sum of those orders' guests; blank for Square and Clover (r02, r04, r08);
- `net_sales_minor`: the sum of `sale` and `comp` lines' net amounts, modifiers included (comps add
  0), on the business date of each line's order (a check belongs to one business day);
- `item_quantity`: the sum of quantities of top-level `sale` and `comp` lines on the business date
  of each line's order (r04 sells coffee beans by weight, so some days are fractional);
- voids and refunds are excluded; only days with at least one demand order are listed.

## Spec decisions

Where `docs/formats.md` leaves room, the files do this:

- **All formats.** A line's time is its order's opening time, except late "add-on" lines (a
  dessert or drink ordered 15-75 minutes later) of r05 (Revel `created_date`) and r06 (generic
  `sold_at`), the two formats with a time per line; a few dozen of r06's add-ons cross the 04:00
  cutoff: their own time is on the next business date, their sales count on their order's. Where
  a format has no order-level time (generic CSV, Square) the order opens at its earliest line.
  Refunds are dated at the refund, never on a closed day, and are whole lines (modifiers
  included). Modifiers carry the parent's quantity and their total price (unit price x quantity).
  Discounts apply to items, never to modifiers; a comped item keeps only free modifiers.
- **Toast.** ordersBulk: `price` is the selection's net for its `quantity` with its modifiers'
  prices included, `preDiscountPrice` the same before discounts (as the Orders API defines
  them); dollars with exactly two decimals (`12.50`); `quantity` is a float (`1.0`). Promotions
  are check-level `appliedDiscounts` (already inside the selections' `price`); comps are a
  selection's "Manager Comp" discount (`price` 0). Modifiers are selections in `modifiers[]` with
  their own `guid`, price and `optionGroup`. `item`, `itemGroup` and `diningOption` are
  references (`guid`, `entityType`) without names. GUIDs are time-based (version 1) UUIDs,
  which keeps the file small. A voided order has `voided: true` on the order, its checks and
  selections; a deleted order has `deleted: true` on the order and its checks; some voided orders
  show only a voided check (selections not flagged). One payment per check (about 6 % of orders
  split into two checks); a refund is that payment's `refund` (amount with tax) and each
  refunded selection's `refundDetails` (pre-tax), joined by one `refundTransaction`. Dates are
  UTC, `2025-01-14T23:05:12.000+0000`; `businessDate` follows Flux's rule. Data export: local
  times `MM/DD/YYYY HH:MM:SS` (CheckDetails `MM/DD/YY` and `hh:mm AM`), numeric ids, `Location`
  "Harbor Grill"; `Net Price` and OrderDetails' `Amount` include modifiers; a voided order is
  `Voided` true with its items `Void?` true; deleted orders are not exported; `Table Size` is the
  party size on each of an order's checks; a refund shows on its payment in the refund day's
  folder (and its own day's, when the same).
- **Square Items export (r02).** The 35 columns of a real July 2026 export
  (`zoetankersley/sunrise_social_club`, `data/raw/items-*.csv`); rows newest first, as the dashboard
  exports them (order only matters for line numbers, which count a transaction's sale rows in file
  order). All rows of a transaction share its time (the payment's). `Qty` is a decimal (`1.0`);
  `Gross Sales` includes the row's modifiers, whose names are in `Modifiers Applied`; `Discounts`
  are negative (`-$1.35`). `Category` is the text `None` for drinks (this seller never
  categorised them). `Details` is the dashboard link that carries the Square location id
  (`.../by-unit/L8WQ2ZJ5T1M0A`), which is r02's `pos_location_id`; `Location` is the location's
  name. Refund rows keep the original `Transaction ID` and `Payment ID`, are dated at the refund
  and carry the item's modifiers in their money like the sale row. No BOM, `\n` line ends.
  `Time Zone` is Square's display name (`Pacific Time (US & Canada)`).
- **Square Orders API (r08).** `SearchOrders` pages sorted by `closed_at`. A sale is a `COMPLETED`
  order closed at the canonical instant (created 1-25 minutes before); a voided order is
  `CANCELED` with its line items; voided single items are left out, as Square drops them. Prices
  include the 19 % VAT as an `INCLUSIVE` order tax: `base_price_money` is the canonical unit price
  plus VAT, and each line's `applied_taxes` carries whatever makes `gross_sales_money -
  total_discount_money - VAT` the canonical net exactly. Modifiers are `modifiers[]` with
  `total_price_money` (inside `gross_sales_money`); promotions are an `ORDER`-scoped percentage
  discount apportioned to lines (`applied_discounts`), comps a `LINE_ITEM` 100 % discount. Each
  refund is a return order closed at the refund, with `returns[].return_line_items`
  (`source_order_id`, `source_line_item_uid`) and its `refunds[]`. Ids are 29 characters like
  Square's; times are RFC 3339 UTC with milliseconds.
- **Lightspeed.** r03 follows the current spec (schema `financial-apiFinancialDto` of the K-Series
  Financial API): pages of at most 1000 sales linked by `_links.nextPage`, times in UTC with
  milliseconds (`2025-03-01T11:20:29.741Z`), a line's `timeofSale` equal to its account's opening,
  fiscal ids `A<device>.<n>` (`accountFiscId`, the order id), `R...` (`receiptId`, only on accounts
  with a receipt), `S...` (line `id`, `parentLineId` for modifiers, which carry their own price),
  money with two decimals and `totalNetAmountWithoutTax` with six (`"24.500000"`), `quantity` with
  three (`"1.000"`), prices tax-inclusive (`taxAmount` is inside the gross). A promo is an
  `accountDiscountAmount`, a comp a `discountAmount` equal to the gross with net `"0.00"`; a voided
  item has a `voidReason` from the spec's enum (its modifiers inherit it). A voided order is one of:
  a SALE with `cancelled: true`, a `VOID` account with a sale-level `voidReason`, or a `CANCEL`
  account. Orders paid on split bills (and about 2 % of the others) are preceded by a `SPLIT` or
  `TRANSFER` account repeating their lines with other ids: bookkeeping that a reader must skip. A
  refund is a `REFUND` account (its own ids, `source.initialAccountId` the original, negative
  quantities and amounts, `nbCovers` 0.0) dated at the refund. r07 is iKentoo-era: one response
  (`businessName, businessLocationId, sales, dataComplete, nextPageToken, _links`), `timeOfOpening`
  / `timeOfCloseAndPaid` in Sydney time with their offset, `accountReference` a UUID, no
  `receiptId`, lines without `id`, so each item's modifiers are folded into its line (an export
  without line ids cannot link them), and without `totalNetAmountWithoutTax`: net =
  `totalNetAmountWithTax` - `taxAmount` (four decimals); a voided order is `cancelled: true`.
- **Clover.** The response of `GET /v3/merchants/{{mId}}/orders` with `lineItems`,
  `lineItems.modifications`, `lineItems.discounts`, `discounts` and `refunds` expanded: the
  merchant id only in `href`s (the response's and each order's), collections as
  `{{"elements": [...]}}`, money in cents, times in epoch ms (`clientCreatedTime` is the canonical
  opening time, `createdTime` the server's, 0.15-1.5 s later). Every item sold by count is one
  line item per unit, without `unitQty`. r04's coffee beans are sold by weight: `unitQty` 250, 500
  or 1000, `price` per lb, amount = price x unitQty / 1000 (always whole cents), quantity =
  unitQty / 1000. Empty expansions are left out as the API does. A comp is a 100 % line discount.
  A promotion is, at random, line discounts (a `percentage`, or an `amount` on a line with priced
  modifiers, which a Clover percentage would discount too) or one order-level discount (a
  `percentage` where Clover's arithmetic, percentage of the line items' sum rounded half up, gives
  the canonical cents, otherwise an `amount`); Clover shares an order discount over all line
  items, so line nets differ from the canonical ones but every order's and day's total is the
  same. A voided order is left out, or (a third of them) kept without line items as Clover shows
  an order whose items were all voided. One refund element per refunded line (`amount` = the
  line's net plus tax, `taxAmount` the tax, `tipAmount` 0, `lineItems` the refunded line item);
  refunded line items have `refunded: true`. Orders are in ascending `clientCreatedTime`.
- **Revel.** The Data Connector's column names (`order_id`, `gross_amount` = `net_amount` +
  `discount_amount`, `tax_amount`, `service_fee_amount`, `sales_amount`, employee names,
  `order_created_at`, `order_updated_at`...) plus `establishment_id` and `number_of_people`;
  money with six decimals (`40.500000`); times UTC (`YYYY-MM-DD HH:MM:SS`); booleans `true` /
  `false`. `net_amount` is the order's items net of discounts, before tax (voided items aside).
  `wide_order_item` repeats the order's columns on each item row; `created_date` is the line's own
  UTC time; `price` is the unit price; `pure_sales` the item's net with its modifiers' prices
  included (modifiers have no rows of their own: they are Revel's separate
  `wide_order_item_modifier` model, not written). A voided order has `is_voided` true on the order
  and on every item row. Returns are new rows of the original order (`is_return` true, negative
  `quantity` and `pure_sales`, positive unit `price`). Item rows are in time order and their ids
  increase in that order.
- **Generic CSV (r06).** Tickets are `YYYYMMDD-NNNN` (business date and sequence); line ids count
  from 1 per ticket. Refunds are extra lines of the original ticket (`status` refund, negative
  `qty` and amount, the ticket's `guests` repeated) at the refund's time. Times have minutes only,
  as the mapping's `timestamp_format` says.
- **events.csv.** Closures are contiguous runs of days with one name (r07's Mondays are one row
  per Monday); `lower_window` and `upper_window` are blank when 0. Holiday names are the English
  names of the `holidays` package; another version of it may name or date a holiday differently.
"""


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Generate Flux's deterministic sample data.")
    p.add_argument(
        "--out", type=Path, default=None, help="output directory (default: sample_data/)"
    )
    p.add_argument(
        "--start", type=date.fromisoformat, default=DEFAULT_START, help="first business date"
    )
    p.add_argument(
        "--days", type=int, default=None, help=f"number of business dates (default {DEFAULT_DAYS})"
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--scale", type=float, default=1.0, help="order volume multiplier")
    p.add_argument("--restaurants", default=None, help="comma-separated subset, e.g. r01,r04")
    p.add_argument(
        "--fleet", type=int, default=None, metavar="N", help="write N synthetic restaurants instead"
    )
    p.add_argument("--fleet-format", choices=("square", "generic"), default="square")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    if a.fleet:
        days = a.days or 365
        out = a.out or Path("flux-output") / f"fleet-{a.fleet}-{a.fleet_format}"
        n = generate_fleet(
            out, n=a.fleet, days=days, start=a.start, seed=a.seed, fmt=a.fleet_format, scale=a.scale
        )
        print(f"{n} order lines written to {out} ({time.perf_counter() - t0:.1f}s)")
        return 0
    ids = [x.strip() for x in a.restaurants.split(",")] if a.restaurants else None
    unknown = [x for x in ids or [] if x not in BY_ID]
    if unknown:
        p.error(f"unknown restaurants: {', '.join(unknown)} (known: {', '.join(BY_ID)})")
    out = generate(
        a.out or HERE,
        start=a.start,
        days=a.days or DEFAULT_DAYS,
        seed=a.seed,
        restaurants=ids,
        scale=a.scale,
        verbose=True,
    )
    print(f"sample data written to {out} ({time.perf_counter() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
