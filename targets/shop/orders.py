"""Orders: acknowledged only after the PostgreSQL commit; the cache is never the system of record.

The `write_behind_orders` flaw acknowledges once the order is queued in Redis and a
background task flushes the queue later, so a Redis failure loses acknowledged orders.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from targets.shop.accounts import Authenticated
from targets.shop.cache import CacheUnavailable, key
from targets.shop.db import DatabaseUnavailable, Overloaded
from targets.shop.state import Shop, error, json_response, shop_of

router = APIRouter()
log = logging.getLogger("targets.shop")
QUEUE = key("order_queue", "pending")
INSERT = ("INSERT INTO orders (id, user_id, product_id, quantity) "
          "SELECT %s, %s, id, %s FROM products WHERE id = %s ON CONFLICT (id) DO NOTHING RETURNING id")


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: int = Field(ge=1, le=2**31 - 1)
    quantity: int = Field(1, ge=1, le=100)


@router.post("/orders", status_code=201)
async def place_order(body: OrderIn, request: Request, who: Authenticated) -> Response:
    shop = shop_of(request)
    order_id = str(uuid.uuid4())
    record = {"order_id": order_id, "user_id": who.user_id, "product_id": body.product_id,
              "quantity": body.quantity}
    if shop.settings.has("write_behind_orders"):
        try:
            await shop.cache.call(shop.cache.redis.rpush, QUEUE, json.dumps(record))
        except CacheUnavailable:
            return error(503, "order queue unavailable")
        return json_response(record, 201)
    try:
        async with shop.db.connection("order_insert") as conn:
            cur = await conn.execute(INSERT, (order_id, who.user_id, body.quantity, body.product_id))
            row = await cur.fetchone()
    except Overloaded:
        return error(503, "overloaded: database busy, retry later", {"Retry-After": "1"})
    except DatabaseUnavailable:
        return error(503, "database unavailable: order not placed")
    if row is None:
        return error(404, f"product {body.product_id} not found")
    return json_response(record, 201)


async def flush_write_behind(shop: Shop) -> None:
    """The flawed write-behind flusher: moves queued orders to PostgreSQL every interval."""
    r = shop.cache.redis
    while True:
        await asyncio.sleep(shop.settings.write_behind_interval)
        try:
            raw = await shop.cache.call(r.lpop, QUEUE, 500)
        except CacheUnavailable:
            continue
        for item in raw or []:
            o = json.loads(item)
            try:
                async with shop.db.connection("order_insert") as conn:
                    await conn.execute(INSERT, (o["order_id"], o["user_id"], o["quantity"], o["product_id"]))
            except (DatabaseUnavailable, Overloaded):
                log.warning("write-behind order dropped: database unavailable")
