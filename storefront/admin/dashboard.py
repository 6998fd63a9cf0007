"""The sales dashboard: revenue and orders per day over the last 30 days, top products,
and what needs doing (orders awaiting payment, orders with units left to ship — paid,
partially shipped, or partially refunded with something still to send).

Everything is summed in SQL (one grouped query per figure, ``DATE(paid_at)`` works on
SQLite and MariaDB alike) in integer minor units, per currency — a store that changed
currency gets one set of charts per currency, never a sum of euros and dollars.

What counts:

* an order counts on the day it was **paid** (``paid_at``, UTC);
* **revenue** is what was paid on those orders less what was refunded on them since;
* **top products** rank the lines of orders paid in the window that were not cancelled
  or refunded in full, by line totals (before order discounts and shipping) and by units.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from markupsafe import Markup
from sqlalchemy import func, select

from ..clock import utcnow
from ..extensions import db
from ..money import Money, format_money
from ..orders import services
from ..orders import status as st
from ..orders.models import Order, OrderLine
from . import charts

DAYS = 30
TOP_PRODUCTS = 5


@dataclass(frozen=True)
class DaySales:
    day: date
    orders: int
    revenue: Money


@dataclass(frozen=True)
class ProductSales:
    product_id: int | None
    title: str
    units: int
    revenue: Money


@dataclass
class CurrencySales:
    currency: str
    days: list[DaySales]
    top_by_revenue: list[ProductSales]
    top_by_units: list[ProductSales]
    charts: dict[str, Markup] = field(default_factory=dict)

    @property
    def revenue(self) -> Money:
        return Money.sum((d.revenue for d in self.days), self.currency)

    @property
    def orders(self) -> int:
        return sum(d.orders for d in self.days)

    @property
    def average_order(self) -> Money:
        return Money(self.revenue.minor // self.orders if self.orders else 0, self.currency)


@dataclass(frozen=True)
class SalesOverview:
    first_day: date
    last_day: date
    currencies: list[CurrencySales]
    awaiting_payment: int
    to_ship: int


def _as_date(value) -> date:
    """SQLite's DATE() gives 'YYYY-MM-DD', MariaDB's a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def sales_overview(today: date | None = None, days: int = DAYS) -> SalesOverview:
    last_day = today or utcnow().date()
    first_day = last_day - timedelta(days=days - 1)
    start = datetime.combine(first_day, datetime.min.time())
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time())
    window = (Order.paid_at.is_not(None), Order.paid_at >= start, Order.paid_at < end)

    paid_day = func.date(Order.paid_at)
    per_day: dict[str, dict[date, tuple[int, int]]] = {}
    for day, currency, orders, revenue in db.session.execute(
            select(paid_day, Order.currency, func.count(Order.id), func.sum(Order.paid_minor - Order.refunded_minor))
            .where(*window).group_by(paid_day, Order.currency)):
        per_day.setdefault(currency, {})[_as_date(day)] = (int(orders), int(revenue or 0))

    units, line_revenue = func.sum(OrderLine.quantity), func.sum(OrderLine.total_minor)
    product_rows = db.session.execute(
        select(OrderLine.product_id, func.max(OrderLine.title), Order.currency, units, line_revenue)
        .join(Order, Order.id == OrderLine.order_id)
        .where(*window, Order.status.not_in((st.CANCELLED, st.REFUNDED)))
        .group_by(OrderLine.product_id, Order.currency)).all()
    products: dict[str, list[ProductSales]] = {}
    for product_id, title, currency, sold, revenue in product_rows:
        products.setdefault(currency, []).append(ProductSales(product_id, title, int(sold), Money(int(revenue), currency)))

    currencies = []
    for currency in sorted(set(per_day) | set(products) or {current_app.config["STORE_CURRENCY"]}):
        counted = per_day.get(currency, {})
        series = [DaySales(first_day + timedelta(days=n), *_day_values(counted, first_day + timedelta(days=n), currency))
                  for n in range(days)]
        ranked = products.get(currency, [])
        sales = CurrencySales(
            currency, series,
            top_by_revenue=sorted(ranked, key=lambda p: (-p.revenue.minor, -p.units, p.title))[:TOP_PRODUCTS],
            top_by_units=sorted(ranked, key=lambda p: (-p.units, -p.revenue.minor, p.title))[:TOP_PRODUCTS])
        sales.charts = _charts(sales)
        currencies.append(sales)

    awaiting = db.session.scalar(select(func.count(Order.id)).where(Order.status == st.PENDING_PAYMENT)) or 0
    return SalesOverview(first_day, last_day, currencies, int(awaiting), services.to_ship_count())


def _day_values(counted: dict[date, tuple[int, int]], day: date, currency: str) -> tuple[int, Money]:
    orders, revenue = counted.get(day, (0, 0))
    return orders, Money(revenue, currency)


def _charts(sales: CurrencySales) -> dict[str, Markup]:
    locale = current_app.config["STORE_LOCALE"]
    currency = sales.currency

    def money(minor: int) -> str:
        return format_money(Money(minor, currency), locale)

    first, last = sales.days[0].day, sales.days[-1].day
    period = f"{first:%d %b} to {last:%d %b %Y}"
    revenue = [charts.Datum(f"{d.day:%d %b}", d.revenue.minor, money(d.revenue.minor)) for d in sales.days]
    orders = [charts.Datum(f"{d.day:%d %b}", d.orders, f"{d.orders} order{'s' if d.orders != 1 else ''}")
              for d in sales.days]
    best = max(sales.days, key=lambda d: (d.revenue.minor, d.day))
    result = {
        "revenue": charts.bar_chart(
            revenue, chart_id=f"revenue-{currency}", title=f"Revenue per day ({currency})",
            desc=f"Revenue per day from {period}: {money(sales.revenue.minor)} in total"
                 + (f"; best day {best.day:%d %b} with {money(best.revenue.minor)}." if best.revenue.minor else "."),
            axis_format=money),
        "orders": charts.line_chart(
            orders, chart_id=f"orders-{currency}", title=f"Paid orders per day ({currency})",
            desc=f"Orders paid per day from {period}: {sales.orders} in total."),
    }
    if sales.top_by_revenue:
        result["top_revenue"] = charts.horizontal_bar_chart(
            [charts.Datum(p.title, p.revenue.minor, money(p.revenue.minor)) for p in sales.top_by_revenue],
            chart_id=f"top-revenue-{currency}", title=f"Top products by revenue ({currency})",
            desc="; ".join(f"{p.title}: {money(p.revenue.minor)}" for p in sales.top_by_revenue))
        result["top_units"] = charts.horizontal_bar_chart(
            [charts.Datum(p.title, p.units, f"{p.units} sold") for p in sales.top_by_units],
            chart_id=f"top-units-{currency}", title=f"Top products by units sold ({currency})",
            desc="; ".join(f"{p.title}: {p.units}" for p in sales.top_by_units))
    return result
