"""Submission throughput and latency of listserver against a bare-Flask ceiling.

One command, loopback only, about a minute and a half:

    .venv/bin/python bench/submit_bench.py

What it does:

1. Recreates a dedicated PostgreSQL database (default `listserver_bench`), runs the
   migrations and publishes the demo form; empties a dedicated Redis database (default 14).
2. Serves bench/bare_app.py (one constant endpoint, the ceiling) and listserver (`wsgi:app`)
   with gunicorn, 2 workers each, and drives `POST /f/demo` with unique addresses from wrk
   (a second process): maximum sustained throughput of each, measured in alternating slices
   so both see the same background load. Beside listserver runs `listserver scheduler`, the
   relay that hands the outbox's emails to the queue (a request never does): its CPU time is
   counted with listserver's, and it competes with listserver's workers for the two cores. It
   works in passes a second apart, so up to a second of its work after each listserver slice
   falls into the next app's slice; that is under 1 % of the machine (see "relay" below).
   The issue's reference point runs in the same slices: bench/reference_app.py, a minimal
   hand-written endpoint (four inserts, one commit, one Redis push, no checks), reported beside
   the ratio, with no target of its own.
3. Measures listserver's latency percentiles with an open-loop generator (bench/loadgen.py,
   another process) at half its maximum rate.
4. Checks that every accepted submission is complete in the database (contact, subscription,
   consent record, event, outbox message) and its email queued in Redis exactly once, and that
   nothing failed.
5. Prints the figures with PASS/FAIL per target, writes them as JSON to bench/results/, and
   exits 1 if a target is missed.

Targets (from the issue): listserver throughput >= 15 % of the bare ceiling; p99 latency
< 100 ms at half the maximum load; no errors. It needs `wrk` (Debian: apt-get install wrk).
Everything it starts is stopped on exit, Ctrl+C included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
VENV_BIN = Path(sys.prefix) / "bin"
CLK_TCK = os.sysconf("SC_CLK_TCK")

TARGET_RATIO = 0.15
TARGET_P99_MS = 100.0
# Rows one accepted submission writes, besides its contact.
PER_SUBMISSION_ROWS = {
    "subscription": "SELECT count(*) FROM subscription",
    "consent_record": "SELECT count(*) FROM consent_record",
    "event": "SELECT count(*) FROM event WHERE kind = 'submitted'",
    "outbox_message": "SELECT count(*) FROM outbox_message",
}
QUEUE_HASH = "listserver:default.msgs"  # Dramatiq's Redis broker: message bodies (jobs) by id
OWN_REDIS_KEYS = ("listserver:", "LIMITS:")  # what listserver writes; anything else is not ours


# --- configuration -------------------------------------------------------------------------

@dataclass(frozen=True)
class Config:
    duration: float
    latency_duration: float
    warmup: float
    slices: int
    connections: int
    wrk_threads: int
    workers: int
    worker_class: str
    threads: int
    database: str
    redis_db: int
    keep_db: bool

    @property
    def database_url(self) -> str:
        return pg_url(self.database)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:6379/{self.redis_db}"

    @property
    def reference_database(self) -> str:
        return f"{self.database}_reference"

    def gunicorn_args(self) -> list[str]:
        args = ["--workers", str(self.workers), "--worker-class", self.worker_class]
        if self.worker_class == "gthread":
            args += ["--threads", str(self.threads)]
        return args


def parse_args() -> Config:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20, help="seconds of each throughput run [20]")
    parser.add_argument("--latency-duration", type=float, default=20, help="seconds of the latency run [20]")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before each measurement [3]")
    parser.add_argument("--slices", type=int, default=4,
                        help="measure the two apps in this many alternating runs each [4]")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections [16]")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads [1]")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers [2]")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class, same for both apps [sync]")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker with --worker-class gthread [4]")
    parser.add_argument("--database", default="listserver_bench", help="PostgreSQL database, dropped and recreated")
    parser.add_argument("--redis-db", type=int, default=14, help="Redis database number, emptied [14]")
    parser.add_argument("--keep-db", action="store_true", help="leave the database in place afterwards")
    a = parser.parse_args()
    return Config(a.duration, a.latency_duration, a.warmup, a.slices, a.connections, a.wrk_threads, a.workers,
                  a.worker_class, a.threads, a.database, a.redis_db, a.keep_db)


def pg_url(database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{database}"


BENCH_SECRET_KEY = secrets.token_urlsafe(48)  # production refuses weak keys; the database is new each run


def listserver_env(config: Config) -> dict[str, str]:
    """Production settings with the bot defences that would throttle a benchmark relaxed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTSERVER_")}
    env.update(
        LISTSERVER_ENV="production",
        LISTSERVER_SECRET_KEYS=BENCH_SECRET_KEY,
        LISTSERVER_DATABASE_URL=config.database_url,
        LISTSERVER_REDIS_URL=config.redis_url,
        LISTSERVER_RATELIMIT_IP="1000000/minute",
        LISTSERVER_RATELIMIT_ADDRESS="1000000/minute",
        LISTSERVER_FORM_MIN_SECONDS="0",
        # No worker takes jobs during the benchmark: without this, the relay would hand an email
        # over again once it has waited a minute untaken, and the queue would hold it twice.
        LISTSERVER_OUTBOX_STUCK_SECONDS="3600",
        LISTSERVER_BASE_URL="https://127.0.0.1",  # production refuses http; no link is followed
        LISTSERVER_INSTANCE_PATH=str(RESULTS / "instance"),
    )
    return env


# --- PostgreSQL and Redis ------------------------------------------------------------------

def pg_connect(database: str) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database, autocommit=True)


def recreate_database(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with pg_connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare_schema(env: dict[str, str]) -> None:
    """Migrations through the real CLI, then the demo list and form."""
    run_quietly([str(VENV_BIN / "listserver"), "db", "upgrade"], env)
    seed = ("from listserver import create_app\n"
            "from listserver.cli import embedded\n"
            "from listserver.extensions import db\n"
            "app = create_app()\n"
            "with app.app_context(), db.session() as session:\n"
            "    embedded.ensure_demo(session)\n")
    run_quietly([sys.executable, "-c", seed], env)


def run_quietly(command: list[str], env: dict[str, str], cwd: Path = ROOT) -> None:
    """Run a setup step (in the repository by default); its output is shown only if it fails."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"setup step failed: {command[:3]}\n{done.stdout}{done.stderr}")


def table_counts(database: str) -> dict[str, int]:
    with pg_connect(database) as conn:
        counts = {"contact": conn.execute("SELECT count(*) FROM contact").fetchone()[0]}
        for table, query in PER_SUBMISSION_ROWS.items():
            counts[table] = conn.execute(query).fetchone()[0]
    return counts


def wait_until_settled(database: str, quiet: float = 1.0, limit: float = 15.0) -> int:
    """The contact count once requests still queued in the server have been answered."""
    deadline = time.monotonic() + limit
    last = table_counts(database)["contact"]
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = table_counts(database)["contact"]
        if now == last:
            return now
        last = now
    return last


def backend_pids(database: str) -> list[int]:
    with pg_connect(database) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                            (database,)).fetchall()
    return [pid for (pid,) in rows]


def empty_redis(url: str) -> None:
    """Flush the benchmark's Redis database, refusing if it holds keys listserver did not write."""
    client = redis.Redis.from_url(url)
    foreign = [k for k in client.scan_iter(count=1000) if not k.decode(errors="replace").startswith(OWN_REDIS_KEYS)]
    if foreign:
        raise SystemExit(f"{url} holds keys that are not listserver's (e.g. {foreign[0]!r}); "
                         "pick another --redis-db")
    client.flushdb()


def queued_emails(url: str) -> list[int]:
    """The outbox ids in the jobs waiting in Dramatiq's queue (a job carries a few)."""
    jobs = redis.Redis.from_url(url).hvals(QUEUE_HASH)
    return [message_id for job in jobs for message_id in json.loads(job)["args"][0]]


def wait_until_handed_over(config: Config, limit: float = 15.0) -> None:
    """The relay works in passes a second apart: wait until it has queued every outbox message."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if len(queued_emails(config.redis_url)) >= table_counts(config.database)["outbox_message"]:
            return
        time.sleep(0.2)


def redis_cpu_seconds(url: str) -> float:
    info = redis.Redis.from_url(url).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


# --- processes -----------------------------------------------------------------------------

def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each live process."""
    times = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        times[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    return times


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A gunicorn master and its workers, in its own session so it can be stopped as a whole."""

    name: str
    process: subprocess.Popen
    port: int
    workers: int
    log_path: Path

    def url(self, path: str = "/f/demo") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def log_problems(self) -> list[str]:
        return log_problems(self.log_path)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # gunicorn: graceful stop of the workers
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def log_problems(path: Path) -> list[str]:
    lines = path.read_text(errors="replace").splitlines()
    return [line for line in lines if re.search(r"WARNING|ERROR|CRITICAL|Traceback", line)]


@dataclass
class Relay:
    """`listserver scheduler`: the relay from the outbox to the queue, one process."""

    process: subprocess.Popen
    log_path: Path


@contextmanager
def relay(env: dict[str, str]):
    RESULTS.mkdir(exist_ok=True)
    log_path = RESULTS / "scheduler.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([str(VENV_BIN / "listserver"), "scheduler"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield Relay(process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def gunicorn(name: str, app: str, cwd: Path, env: dict[str, str], config: Config):
    """Serve `app` on a free loopback port; stopped when the block ends, whatever happens."""
    port = free_port()
    RESULTS.mkdir(exist_ok=True)
    log_path = RESULTS / f"gunicorn-{name}.log"
    command = [str(VENV_BIN / "gunicorn"), *config.gunicorn_args(), "--bind", f"127.0.0.1:{port}",
               "--log-level", "warning", "--no-control-socket", "--timeout", "60", app]
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Server(name, process, port, config.workers, log_path)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


def wait_ready(server: Server, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"gunicorn ({server.name}) exited; see {server.log_path}")
        try:
            with urllib.request.urlopen(server.url(), timeout=2) as response:
                if response.status == 200 and len(server.worker_pids()) == server.workers:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn ({server.name}) did not answer within {limit:.0f} s; see {server.log_path}")


def fetch_stamp(server: Server) -> str:
    """The render stamp (_ts) of the demo form; it stays valid for a day, so one does for all."""
    with urllib.request.urlopen(server.url(), timeout=5) as response:
        page = response.read().decode()
    match = re.search(r'name="_ts" value="([^"]+)"', page)
    if not match:
        raise SystemExit("no _ts stamp in GET /f/demo")
    return match.group(1)


# --- load ----------------------------------------------------------------------------------

def run_wrk(server: Server, stamp: str, prefix: str, duration: float, config: Config) -> dict:
    """Closed-loop maximum throughput with wrk; the Lua script prints a JSON summary."""
    command = ["wrk", f"-t{config.wrk_threads}", f"-c{config.connections}", f"-d{duration:g}s", "--timeout", "10s",
               "-s", str(BENCH / "submit.lua"), server.url(), "--", stamp, prefix]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    summary = next((row for row in done.stdout.splitlines() if row.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or summary is None:
        raise SystemExit(f"wrk failed ({done.returncode}): {' '.join(command)}\n{done.stdout}{done.stderr}")
    raw = json.loads(summary.removeprefix("WRK_JSON "))
    return {
        "requests": raw["requests"],
        "ok": raw["requests"] - raw["status_errors"],
        "status_errors": raw["status_errors"],
        "socket_errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"],
        "seconds": raw["duration_us"] / 1e6,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
    }


@dataclass
class Target:
    """One app under load: its server, the stamp it expects, and whose CPU time to account to it."""

    name: str
    server: Server
    stamp: str
    database: str | None = None  # listserver: its PostgreSQL backends and Redis count too
    redis_url: str | None = None
    relay_pid: int | None = None  # listserver: the scheduler's process counts too


@dataclass
class Throughput:
    """The measured wrk runs of one app, summed over its slices."""

    requests: int = 0
    ok: int = 0
    status_errors: int = 0
    socket_errors: int = 0
    seconds: float = 0.0
    worker_cpu: float = 0.0
    relay_cpu: float = 0.0
    postgres_cpu: float = 0.0
    redis_cpu: float = 0.0
    slice_rps: list[float] = field(default_factory=list)
    warmup: dict = field(default_factory=dict)

    def add(self, run: dict, cpu: dict[str, float]) -> None:
        self.requests += run["requests"]
        self.ok += run["ok"]
        self.status_errors += run["status_errors"]
        self.socket_errors += run["socket_errors"]
        self.seconds += run["seconds"]
        self.worker_cpu += cpu["worker"]
        self.relay_cpu += cpu["relay"]
        self.postgres_cpu += cpu["postgres"]
        self.redis_cpu += cpu["redis"]
        self.slice_rps.append(run["requests"] / run["seconds"])

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def cpu_ms_per_request(self, seconds: float) -> float:
        return seconds * 1000 / max(self.requests, 1)

    def as_json(self) -> dict:
        return {
            "rps": round(self.rps, 2), "slice_rps": [round(r, 2) for r in self.slice_rps],
            "requests": self.requests, "ok": self.ok, "status_errors": self.status_errors,
            "socket_errors": self.socket_errors, "seconds": round(self.seconds, 2),
            "cpu_ms_per_request": {part: round(self.cpu_ms_per_request(getattr(self, f"{part}_cpu")), 3)
                                   for part in ("worker", "relay", "postgres", "redis")},
            "warmup": self.warmup,
        }


def measured_run(target: Target, prefix: str, duration: float, config: Config) -> tuple[dict, dict[str, float]]:
    """One wrk run, and the CPU seconds the workers, relay, PostgreSQL backends and Redis spent meanwhile."""
    workers = target.server.worker_pids()
    relay_pids = [target.relay_pid] if target.relay_pid else []
    backends = backend_pids(target.database) if target.database else []
    workers_before, backends_before = cpu_seconds(workers), cpu_seconds(backends)
    relay_before = cpu_seconds(relay_pids)
    redis_before = redis_cpu_seconds(target.redis_url) if target.redis_url else 0.0
    run = run_wrk(target.server, target.stamp, prefix, duration, config)
    if target.database:  # the pool may have opened connections during the run
        backends = sorted(set(backends) | set(backend_pids(target.database)))
    cpu = {
        "worker": cpu_used(workers_before, cpu_seconds(workers)),
        "relay": cpu_used(relay_before, cpu_seconds(relay_pids)),
        "postgres": cpu_used(backends_before, cpu_seconds(backends)),
        "redis": redis_cpu_seconds(target.redis_url) - redis_before if target.redis_url else 0.0,
    }
    return run, cpu


def measure_throughput(targets: list[Target], config: Config) -> dict[str, Throughput]:
    """Maximum throughput of each app, measured in alternating slices.

    Other work on the machine comes and goes; alternating short runs of the two apps makes
    both see the same background, so their ratio stays fair even when the totals wobble.
    """
    results = {target.name: Throughput() for target in targets}
    for target in targets:
        results[target.name].warmup = run_wrk(target.server, target.stamp, "warm", config.warmup, config)
    for number in range(config.slices):
        for target in targets:
            run, cpu = measured_run(target, f"max{number}", config.duration / config.slices, config)
            results[target.name].add(run, cpu)
    return results


def run_open_loop(server: Server, stamp: str, rate: float, config: Config) -> dict:
    """Latency at a fixed arrival rate, from bench/loadgen.py in its own process."""
    command = [sys.executable, str(BENCH / "loadgen.py"), server.url(), stamp, "--rate", f"{rate:.3f}",
               "--duration", str(config.latency_duration), "--prefix", "lat"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"loadgen failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout)


# --- the run -------------------------------------------------------------------------------

@dataclass
class Outcome:
    """Everything one run measured, and the verdicts on it."""

    config: Config
    load_before: float
    bare: Throughput = field(default_factory=Throughput)
    listserver: Throughput = field(default_factory=Throughput)
    reference: Throughput = field(default_factory=Throughput)
    latency: dict = field(default_factory=dict)
    integrity: dict = field(default_factory=dict)
    log_problems: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.listserver.rps / self.bare.rps

    @property
    def wrk_errors(self) -> int:
        ls, warm = self.listserver, self.listserver.warmup
        return ls.status_errors + ls.socket_errors + warm["status_errors"] + warm["socket_errors"]

    @property
    def errors(self) -> int:
        """Failed listserver requests in any phase, plus accepted submissions that left no contact."""
        return self.wrk_errors + sum(self.latency["errors"].values()) + self.integrity["lost"]

    def checks(self) -> dict[str, bool]:
        return {
            "throughput_ratio": self.ratio >= TARGET_RATIO,
            "p99_at_half_load": self.latency["p99_ms"] < TARGET_P99_MS,
            "no_errors": self.errors == 0,
            "integrity": self.integrity["complete"],
        }

    def as_json(self) -> dict:
        return {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "config": self.config.__dict__, "load_average_before": self.load_before,
            "bare": self.bare.as_json(), "listserver": self.listserver.as_json(), "ratio": round(self.ratio, 4),
            "reference": self.reference.as_json(), "reference_ratio": round(self.reference.rps / self.bare.rps, 4),
            "latency_at_half_load": self.latency, "errors": self.errors, "integrity": self.integrity,
            "listserver_log_problems": self.log_problems[:20],
            "targets": {"ratio_min": TARGET_RATIO, "p99_ms_max": TARGET_P99_MS},
            "checks": self.checks(),
        }


def run_benchmark(config: Config, outcome: Outcome) -> None:
    """The servers up side by side (the idle ones cost nothing), load one at a time."""
    bare_env = {k: v for k, v in os.environ.items() if not k.startswith("LISTSERVER_")}
    reference_env = {**bare_env, "REFERENCE_DATABASE_URL": pg_url(config.reference_database),
                     "REFERENCE_REDIS_URL": config.redis_url}
    with (gunicorn("bare", "bare_app:app", BENCH, bare_env, config) as bare,
          gunicorn("reference", "reference_app:app", BENCH, reference_env, config) as reference,
          gunicorn("listserver", "wsgi:app", ROOT, listserver_env(config), config) as listserver,
          relay(listserver_env(config)) as scheduler):
        stamp = fetch_stamp(listserver)
        start = table_counts(config.database)["contact"]
        throughput = measure_throughput([
            Target("bare", bare, "unused"),
            Target("reference", reference, "unused", config.reference_database, config.redis_url),
            Target("listserver", listserver, stamp, config.database, config.redis_url, scheduler.process.pid),
        ], config)
        outcome.bare, outcome.listserver = throughput["bare"], throughput["listserver"]
        outcome.reference = throughput["reference"]
        after_wrk = wait_until_settled(config.database)
        print(f"listserver: {config.latency_duration:g} s open loop at {outcome.listserver.rps / 2:.1f} req/s ...",
              file=sys.stderr)
        outcome.latency = run_open_loop(listserver, stamp, outcome.listserver.rps / 2, config)
        after_latency = wait_until_settled(config.database)
        wait_until_handed_over(config)
        outcome.log_problems = listserver.log_problems() + log_problems(scheduler.log_path)
    outcome.integrity = check_integrity(config, outcome, wrk_rows=after_wrk - start,
                                        latency_rows=after_latency - after_wrk)


def check_integrity(config: Config, outcome: Outcome, wrk_rows: int, latency_rows: int) -> dict:
    """Every 200 is one complete submission: its rows all written and its email queued in Redis once.

    wrk abandons the requests in flight when its time is up, but the server still answers
    them, so each wrk run (warm-up and slices) may leave up to one extra contact per
    connection. The open-loop run waits for every answer, so there the counts must match.
    """
    ls = outcome.listserver
    wrk_ok = ls.ok + ls.warmup["ok"]
    allowance = config.connections * (config.slices + 1) + ls.socket_errors + ls.warmup["socket_errors"]
    latency_ok = outcome.latency["ok"]
    counts = table_counts(config.database)
    queued = queued_emails(config.redis_url)
    lost = max(0, wrk_ok - wrk_rows) + max(0, latency_ok - latency_rows)
    complete = (
        lost == 0
        and wrk_rows <= wrk_ok + allowance
        and latency_rows == latency_ok
        and all(counts[table] == counts["contact"] for table in PER_SUBMISSION_ROWS)
        and len(queued) == len(set(queued)) == counts["outbox_message"] == counts["contact"]
    )
    return {
        "contacts": counts["contact"], **{t: counts[t] for t in PER_SUBMISSION_ROWS}, "queued_in_redis": len(queued),
        "queued_twice": len(queued) - len(set(queued)),
        "wrk_ok": wrk_ok, "wrk_rows": wrk_rows, "wrk_in_flight_allowance": allowance,
        "latency_ok": latency_ok, "latency_rows": latency_rows, "lost": lost, "complete": complete,
    }


# --- output --------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def line(label: str, value: str, target: str = "", ok: bool | None = None) -> str:
    return f"  {label:<24}{value:>16}   {target:<22}{'' if ok is None else verdict(ok)}"


def slice_list(throughput: Throughput) -> str:
    return " ".join(f"{rps:.0f}" for rps in throughput.slice_rps)


def print_report(o: Outcome) -> None:
    c, bare, ls, lat, integ = o.config, o.bare, o.listserver, o.latency, o.integrity
    checks = o.checks()
    workers = f"{c.workers} x {c.worker_class}" + (f", {c.threads} threads" if c.worker_class == "gthread" else "")
    print()
    print(f"listserver submission benchmark: gunicorn {workers}, PostgreSQL + Redis, loopback")
    print(f"  wrk -t{c.wrk_threads} -c{c.connections}: {c.duration:g} s per app in {c.slices} alternating slices "
          f"after {c.warmup:g} s warm-up; load average before start {o.load_before:.2f}")
    print()
    print(line("bare Flask ceiling", f"{bare.rps:.1f} req/s") + f"   slices {slice_list(bare)}")
    print(line("listserver submissions", f"{ls.rps:.1f} req/s") + f"   slices {slice_list(ls)}")
    print(line("ratio", f"{o.ratio * 100:.1f} %", f"target >= {TARGET_RATIO * 100:.0f} %", checks["throughput_ratio"]))
    ref = o.reference
    print(line("reference endpoint", f"{ref.rps:.1f} req/s") + f"   {ref.rps / bare.rps * 100:.1f} % of bare; "
          f"slices {slice_list(ref)}; listserver reaches {ls.rps / ref.rps * 100:.0f} % of it")
    per_request = {part: ref.cpu_ms_per_request(getattr(ref, f"{part}_cpu"))
                   for part in ("worker", "postgres", "redis")}
    print(f"    (bench/reference_app.py: 4 inserts, 1 commit, 1 Redis push; no checks; workers "
          f"{per_request['worker']:.2f} ms + PostgreSQL {per_request['postgres']:.2f} ms"
          f" + Redis {per_request['redis']:.2f} ms per request)")
    print(f"  CPU per request: bare workers {bare.cpu_ms_per_request(bare.worker_cpu):.2f} ms; listserver "
          f"workers {ls.cpu_ms_per_request(ls.worker_cpu):.2f} ms + relay {ls.cpu_ms_per_request(ls.relay_cpu):.2f} "
          f"ms + PostgreSQL backends "
          f"{ls.cpu_ms_per_request(ls.postgres_cpu):.2f} ms + Redis {ls.cpu_ms_per_request(ls.redis_cpu):.2f} ms")
    print()
    print(f"  open loop at {lat['target_rate']:.1f} req/s (half the maximum), {lat['sent']} requests, "
          f"achieved {lat['achieved_rate']:.1f} req/s")
    print(line("latency p50 / p90", f"{lat['p50_ms']:.1f} / {lat['p90_ms']:.1f} ms") + f"   max {lat['max_ms']:.1f} ms")
    print(line("latency p99", f"{lat['p99_ms']:.1f} ms", f"target < {TARGET_P99_MS:.0f} ms",
               checks["p99_at_half_load"]))
    print()
    print(line("errors", f"{o.errors}", "target 0", checks["no_errors"]))
    kinds = f" {lat['errors']}" if lat["errors"] else ""
    print(f"    wrk {o.wrk_errors}, open loop {sum(lat['errors'].values())}{kinds}, "
          f"accepted but not stored {integ['lost']}")
    print(line("integrity", f"{integ['contacts']} contacts", "all rows, all queued", checks["integrity"]))
    print(f"    subscriptions {integ['subscription']}, consent records {integ['consent_record']}, events "
          f"{integ['event']}, outbox {integ['outbox_message']}, queued in Redis {integ['queued_in_redis']} "
          f"(twice: {integ['queued_twice']})")
    print(f"    200s -> contacts: wrk {integ['wrk_ok']} -> {integ['wrk_rows']} (<= {integ['wrk_in_flight_allowance']} "
          f"more were in flight when wrk stopped), open loop {integ['latency_ok']} -> {integ['latency_rows']}")
    if o.log_problems:
        print(f"  listserver log: {len(o.log_problems)} warning/error lines, first: {o.log_problems[0][:140]}")
    print()
    print(f"  overall: {verdict(all(checks.values()))}")


def save(outcome: Outcome) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"submit-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(outcome.as_json(), indent=2) + "\n")
    return path


# --- main ----------------------------------------------------------------------------------

def preflight() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    for tool in ("gunicorn", "listserver"):
        if not (VENV_BIN / tool).exists():
            raise SystemExit(f"{VENV_BIN / tool} not found: run this with the project's .venv/bin/python")


def unwind_on_signals() -> None:
    """SIGTERM and SIGINT (even if the parent shell ignored it) unwind like Ctrl+C, so the
    servers are stopped and the database dropped in the `finally` blocks."""
    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)


def main() -> int:
    config = parse_args()
    preflight()
    unwind_on_signals()
    outcome = Outcome(config, load_before=os.getloadavg()[0])
    if outcome.load_before > 0.5:
        print(f"note: load average {outcome.load_before:.2f}: other processes share the CPU, figures will be noisy",
              file=sys.stderr)
    try:
        print(f"preparing database {config.database} and Redis db {config.redis_db} ...", file=sys.stderr)
        recreate_database(config.database)
        prepare_schema(listserver_env(config))
        recreate_database(config.reference_database)
        run_quietly([sys.executable, "-c", "import reference_app; reference_app.create_schema()"],
                    {**os.environ, "REFERENCE_DATABASE_URL": pg_url(config.reference_database)}, cwd=BENCH)
        empty_redis(config.redis_url)
        print(f"bare Flask, the reference endpoint and listserver: {config.warmup:g} s warm-up and "
              f"{config.duration:g} s of wrk each ...",
              file=sys.stderr)
        run_benchmark(config, outcome)
    finally:
        empty_redis(config.redis_url)
        if not config.keep_db:
            drop_database(config.database)
            drop_database(config.reference_database)
    print_report(outcome)
    print(f"  results: {save(outcome).relative_to(ROOT)}")
    return 0 if all(outcome.checks().values()) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; servers stopped, benchmark data removed", file=sys.stderr)
        sys.exit(130)
