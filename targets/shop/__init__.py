"""`targets.shop`: a cache-backed shop following the caching chapter, with switchable flaws.

Run it with `python -m targets.shop --help`. Redis keys follow `{version}:{service}:{entity}:{id}`:

| key | holds | TTL |
|---|---|---|
| `v1:shop:product:<id>` | product JSON, or the negative marker `__none__` | 300 s ± 10 % (negative: 30 s) |
| `v1:shop:product_stale:<id>` | last good copy, served when the database is down | 24 h |
| `v1:shop:product_lock:<id>` | single-flight lock (SET NX) | 5 s |
| `v1:shop:product_list:<page>` | public product list page | 60 s |
| `v1:shop:profile:<user_id>` | profile JSON (carries `version`) | 300 s ± 10 % |
| `v1:shop:feed:<user_id>` | the user's feed: post ids | 30 s |
| `v1:shop:post:<post_id>` | post content, shared by every feed | 4 h |
| `v1:shop:session:<sha256(session id)>` | session JSON, sliding 24 h | 24 h |
| `v1:shop:user_sessions:<user_id>` | set of that user's session hashes | 24 h |
| `v1:shop:ratelimit:<client id>` | sliding-window sorted set | window |
| `v1:shop:order_queue:pending` | only with flaw `write_behind_orders` | none |

To expire the hot key for a stampede experiment: `DEL v1:shop:product:1`.
"""
