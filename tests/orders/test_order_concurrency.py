"""Races that only a real database shows: run on MariaDB with real threads."""
import threading

import pytest
from sqlalchemy import func, select

from storefront.catalog.models import StockMovement, Variant
from storefront.extensions import db
from storefront.mail import OutgoingMail
from storefront.orders import services
from storefront.orders.models import Order, OrderEvent
from storefront.orders.status import InvalidTransition

pytestmark = pytest.mark.mariadb


def run_together(app, calls):
    """Run each call on its own thread (own app context, own connection), released at once."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index, call):
        with app.app_context():
            barrier.wait()
            try:
                results[index] = call()
            except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_ten_concurrent_mark_paid_calls_make_one_paid_transition_one_event_and_one_mail(app, make_order, sent_mail,
                                                                                         order_events):
    order = make_order()
    order_id = order.id
    db.session.remove()

    results = run_together(app, [lambda: services.mark_paid(order_id)] * 10)

    assert sorted(results, key=str) == [False] * 9 + [True]
    assert db.session.get(Order, order_id).status == "paid"
    assert count(OrderEvent, OrderEvent.order_id == order_id, OrderEvent.kind == "paid") == 1
    assert count(OutgoingMail, OutgoingMail.template == "order_paid") == 1
    assert len([m for m in sent_mail if "Payment received" in m["Subject"]]) == 1
    assert order_events.kinds(order.number) == ["paid"]


def test_a_payment_racing_the_unpaid_cancellation_lets_exactly_one_of_them_win(app, make_order, make_product):
    shirt = make_product("Shirt", stock=10)
    order = make_order([(shirt, 4)])
    order_id, variant_id = order.id, shirt.variants[0].id
    db.session.remove()

    results = run_together(app, [lambda: services.mark_paid(order_id)] * 5
                           + [lambda: services.cancel_order(order_id, "unpaid", unpaid_only=True)] * 5)

    final = db.session.get(Order, order_id).status
    paid_wins = [r for r in results[:5] if r is True]
    cancel_wins = [r for r in results[5:] if isinstance(r, Order)]
    assert all(r is False or r is True for r in results[:5])
    assert all(isinstance(r, (Order, InvalidTransition)) for r in results[5:]), results
    assert len(paid_wins) + len(cancel_wins) == 1
    returned = count(StockMovement, StockMovement.order_id == order_id, StockMovement.reason == "cancellation")
    stock = db.session.scalar(select(Variant.stock).where(Variant.id == variant_id))
    if final == "paid":
        assert (len(paid_wins), returned, stock) == (1, 0, 6)
    else:
        assert (final, len(cancel_wins), returned, stock) == ("cancelled", 1, 1, 10)


def test_five_concurrent_completions_make_one_transition_and_one_event(app, make_order, make_user):
    order = make_order(status="paid")
    services.fulfil_order(order.id, {line.id: line.quantity for line in order.lines}, actor=make_user(role="staff"))
    order_id = order.id
    db.session.remove()

    results = run_together(app, [lambda: services.complete_order(order_id)] * 5)

    assert len([r for r in results if isinstance(r, Order)]) == 1
    assert all(isinstance(r, (Order, InvalidTransition)) for r in results), results
    assert db.session.get(Order, order_id).status == "completed"
    assert count(OrderEvent, OrderEvent.order_id == order_id, OrderEvent.kind == "completed") == 1
