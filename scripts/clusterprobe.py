"""What bench/Scale/analyze.py and scripts/simulate-validation.py both read from a real loopback cluster: a run's
timeline.json (`train --timeline`), and this host's loopback link, which calibrates `distributed simulate`."""
import json, socket, statistics, threading, time


def timeline(path):
    """The Chrome-trace events of a run's timeline.json, also of a run that ended before closing the array."""
    text = path.read_text().rstrip()
    if not text.endswith("]"):
        text = text.rstrip(",") + "]"
    return json.loads(text)


def _echo_pair():
    server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
    port = server.getsockname()[1]

    def serve():
        conn, _ = server.accept()
        while data := conn.recv(1 << 20):
            if data[:1] == b"p": conn.sendall(data)  # pings come back, stream chunks are swallowed
        conn.close()
    threading.Thread(target=serve, daemon=True).start()
    client = socket.create_connection(("127.0.0.1", port)); client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def loopback_latency_us(rounds=2000):
    """Half the median round trip of a 64-byte ping-pong on 127.0.0.1, in microseconds."""
    client = _echo_pair()
    rtts = []
    for _ in range(rounds):
        t = time.perf_counter(); client.sendall(b"p" * 64); got = 0
        while got < 64: got += len(client.recv(64 - got))
        rtts.append(time.perf_counter() - t)
    client.close()
    return statistics.median(rtts) / 2 * 1e6


def loopback_gbps(megabytes=256):
    """Gbit/s of one stream of `megabytes` MiB on 127.0.0.1."""
    client = _echo_pair()
    chunk = b"x" * (1 << 20); t = time.perf_counter()
    for _ in range(megabytes): client.sendall(chunk)
    client.close()
    return megabytes * (1 << 20) * 8 / (time.perf_counter() - t) / 1e9
