"""Open-loop load generator: POST form submissions at a fixed rate and measure latency.

wrk only measures closed-loop throughput (each connection waits for its answer before
sending again), which hides queueing. Here request i is *due* at start + i / rate, a pool
of threads sends each one as soon as it is due, and latency is measured from the due
time, so a server (or client) that falls behind shows up in the percentiles instead of
silently lowering the rate ("coordinated omission").

Run as its own process; it prints one JSON object on stdout:

    python bench/loadgen.py URL STAMP --rate 30 --duration 20 --prefix lat
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

SUCCESS_TEXT = b"Check your inbox"


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)  # seconds, from the due time
    service: list[float] = field(default_factory=list)  # seconds, from the actual send
    ok: int = 0
    errors: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, due: float, sent: float, done: float, error: str | None) -> None:
        with self.lock:
            self.latencies.append(done - due)
            self.service.append(done - sent)
            if error is None:
                self.ok += 1
            else:
                self.errors[error] += 1


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def submit_once(host: str, port: int, path: str, body: str, timeout: float) -> str | None:
    """Send one submission on a fresh connection, like a visitor would; None on success, else an error label."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Connection": "close"})
        response = conn.getresponse()
        payload = response.read()
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__
    finally:
        conn.close()
    if response.status != 200:
        return f"http_{response.status}"
    if SUCCESS_TEXT not in payload:
        return "unexpected_body"
    return None


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def run(url: str, stamp: str, rate: float, duration: float, prefix: str, threads: int, timeout: float) -> dict:
    """Send rate * duration submissions on schedule from `threads` threads; a summary of what came back."""
    target = urllib.parse.urlsplit(url)
    total = int(rate * duration)
    slots = itertools.count()
    slots_lock = threading.Lock()
    results = Results()
    start = time.perf_counter() + 0.2  # let every thread get going first

    def sender(thread_no: int) -> None:
        while True:
            with slots_lock:
                slot = next(slots)
            if slot >= total:
                break
            due = start + slot / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            body = urllib.parse.urlencode({"email": f"{prefix}-{thread_no}-{slot}@example-shop.net", "_ts": stamp})
            sent = time.perf_counter()
            error = submit_once(target.hostname, target.port, target.path, body, timeout)
            results.record(due, sent, time.perf_counter(), error)

    pool = [threading.Thread(target=sender, args=(n,), daemon=True) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start

    return {
        "target_rate": rate,
        "achieved_rate": round(len(results.latencies) / elapsed, 2),
        "duration_s": round(elapsed, 2),
        "sent": len(results.latencies),
        "ok": results.ok,
        "errors": dict(results.errors),
        "p50_ms": ms(percentile(results.latencies, 50)),
        "p90_ms": ms(percentile(results.latencies, 90)),
        "p99_ms": ms(percentile(results.latencies, 99)),
        "max_ms": ms(max(results.latencies, default=0.0)),
        "service_p50_ms": ms(percentile(results.service, 50)),
        "service_p99_ms": ms(percentile(results.service, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="e.g. http://127.0.0.1:8000/f/demo")
    parser.add_argument("stamp", help="the form's render stamp (_ts)")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds")
    parser.add_argument("--prefix", default="lat", help="local part prefix of the unique addresses")
    parser.add_argument("--threads", type=int, default=64, help="most requests in flight at once")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request socket timeout, seconds")
    args = parser.parse_args()
    print(json.dumps(run(args.url, args.stamp, args.rate, args.duration, args.prefix, args.threads, args.timeout)))


if __name__ == "__main__":
    main()
