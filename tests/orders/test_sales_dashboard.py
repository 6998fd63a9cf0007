import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

from sqlalchemy import update

from storefront.admin import charts
from storefront.admin.dashboard import sales_overview
from storefront.clock import utcnow
from storefront.extensions import db
from storefront.orders import services
from storefront.orders.models import Order

SVG = "{http://www.w3.org/2000/svg}"


def bars(svg: str) -> list[tuple[str, float, str]]:
    """(tooltip, height, data-value) of each bar of a rendered chart."""
    root = ET.fromstring(svg)
    return [(rect.find(f"{SVG}title").text, float(rect.get("height")), rect.get("data-value"))
            for rect in root.iter(f"{SVG}rect")]


def test_a_bar_chart_draws_bars_in_proportion_on_a_round_axis(app):
    svg = charts.bar_chart([charts.Datum("Mon", 0), charts.Datum("Tue", 40, "€0.40"), charts.Datum("Wed", 80)],
                           chart_id="demo", title="Revenue", desc="Three days")
    drawn = bars(svg)
    assert [(tip, value) for tip, _, value in drawn] == [("Mon: 0", "0"), ("Tue: €0.40", "40"), ("Wed: 80", "80")]
    heights = [height for _, height, _ in drawn]
    assert heights[0] == 0 and abs(heights[2] - 2 * heights[1]) < 0.02
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "demo-title demo-desc"
    assert root.find(f"{SVG}title").text == "Revenue" and root.find(f"{SVG}desc").text == "Three days"
    assert ">100<" in svg  # 80 rounds the axis up to 100


def test_charts_escape_labels_and_use_no_style_attributes(app):
    hostile = '<script>alert("x")</script> & "quotes"'
    for svg in (charts.bar_chart([charts.Datum(hostile, 5)], chart_id="x", title=hostile, desc=hostile),
                charts.line_chart([charts.Datum(hostile, 5), charts.Datum("b", 1)], chart_id="y", title=hostile,
                                  desc=hostile),
                charts.horizontal_bar_chart([charts.Datum(hostile, 5, hostile)], chart_id="z", title=hostile,
                                            desc=hostile)):
        assert "<script" not in svg and "&lt;script&gt;" in svg
        assert "style=" not in svg
        ET.fromstring(svg)  # well-formed XML


def test_charts_of_nothing_are_flat_and_never_divide_by_zero(app):
    assert [h for _, h, _ in bars(charts.bar_chart([charts.Datum("a", 0)] * 3, chart_id="z", title="t", desc="d"))] == [0, 0, 0]
    assert charts.bar_chart([], chart_id="e", title="t", desc="d").startswith("<svg")
    assert "NaN" not in charts.line_chart([charts.Datum("a", 0)], chart_id="l", title="t", desc="d")
    assert [charts.nice_ceiling(v) for v in (0, 1, 3, 7, 12, 20, 4999, 50001)] == [1, 1, 5, 10, 20, 20, 5000, 100000]


def test_the_dashboard_sums_paid_orders_per_day_and_ranks_products(app, make_order, make_product):
    today = utcnow().date()
    shirt, mug = make_product("Linen shirt", price=2500, stock=50), make_product("Mug", price=800, stock=50)

    def paid(lines, days_ago, **kw):
        order = make_order(lines, status="paid", **kw)
        moment = datetime.combine(today - timedelta(days=days_ago), datetime.min.time()) + timedelta(hours=10)
        db.session.execute(update(Order).where(Order.id == order.id).values(paid_at=moment))
        db.session.commit()
        return order

    paid([(shirt, 2)], 0)                              # 50.00 today
    paid([(mug, 3)], 0)                                # 24.00 today
    half_back = paid([(shirt, 1), (mug, 1)], 3)        # 33.00, 13.00 refunded
    services.record_refund(half_back.id, services.Money(1300, "EUR"))
    cancelled = paid([(mug, 5)], 5)                    # refunded in full → no revenue, not a top product
    services.record_refund(cancelled.id, services.Money(4000, "EUR"))
    paid([(shirt, 4)], 31)                             # outside the window
    make_order([(shirt, 9)])                           # unpaid

    overview = sales_overview()
    (eur,) = overview.currencies
    assert len(eur.days) == 30 and eur.days[-1].day == today and eur.days[0].day == today - timedelta(days=29)
    by_day = {d.day: (d.orders, d.revenue.minor) for d in eur.days}
    assert by_day[today] == (2, 7400)
    assert by_day[today - timedelta(days=3)] == (1, 2000)
    assert by_day[today - timedelta(days=5)] == (1, 0)
    assert (eur.revenue.minor, eur.orders) == (9400, 4)
    assert [(p.title, p.units, p.revenue.minor) for p in eur.top_by_revenue] == [("Linen shirt", 3, 7500),
                                                                                ("Mug", 4, 3200)]
    assert [p.title for p in eur.top_by_units] == ["Mug", "Linen shirt"]
    assert overview.awaiting_payment == 1 and overview.to_ship == 4  # the fully refunded one needs no shipping

    revenue_bars = bars(eur.charts["revenue"])
    assert len(revenue_bars) == 30
    assert revenue_bars[-1][0] == f"{today:%d %b}: €74.00" and revenue_bars[-1][2] == "7400"
    assert revenue_bars[-4][2] == "2000" and revenue_bars[0][2] == "0"
    assert revenue_bars[-1][1] > revenue_bars[-4][1] > 0


def test_staff_see_the_sales_dashboard_with_svg_charts(staff_client, make_order):
    make_order(status="paid")
    page = staff_client.get("/admin/").get_data(as_text=True)
    assert page.count("<svg") == 4 and "Revenue per day (EUR)" in page and "Top products by revenue" in page
    assert "1</strong> order to ship" in page and "€20.00" in page
    assert re.search(r'<rect [^>]*data-value="2000"', page)


def test_orders_to_ship_include_partly_shipped_ones_and_the_link_lists_them(staff_client, make_order):
    staff = staff_client.user
    paid = make_order(status="paid")
    partly = make_order(status="paid")
    services.fulfil_order(partly.id, {partly.lines[0].id: 1}, actor=staff)
    shipped = make_order(status="paid")
    services.fulfil_order(shipped.id, {shipped.lines[0].id: 2}, actor=staff)
    assert sales_overview().to_ship == 2

    page = staff_client.get("/admin/").get_data(as_text=True)
    assert '<a href="/admin/orders?status=to_ship"><strong>2</strong> orders to ship</a>' in page
    listed = staff_client.get("/admin/orders?status=to_ship").get_data(as_text=True)
    assert paid.number in listed and partly.number in listed and shipped.number not in listed


def test_the_dashboard_works_on_an_empty_store(staff_client):
    response = staff_client.get("/admin/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and page.count("<svg") == 2 and "No products sold" in page
