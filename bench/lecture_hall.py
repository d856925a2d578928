"""A lecture hall against the real server: 300 students' browsers polling the leaderboard every
2 s (with the ETag of their last answer, as docs/api.md tells pages to), 30 workers
long-polling the seed's ``ping`` and posting results, and submissions at 5 per second, for
DURATION_S seconds against ``mlcontest serve --processes 2 --threads 48`` (gunicorn gthread;
why 48: SERVER_THREADS) on SQLite and then on PostgreSQL. Then a round of 100,000 jobs from
200 groups: its leaderboard read right after each change (the server cannot use its cache: the
honest figure, right after the 100,000 jobs were written, before any ANALYZE), and unchanged.

Prints p50/p95/p99 latency and errors per endpoint for each database. The long poll's latency
is how long a worker waited for a job, not the server's speed, so it is shown but left out of
the worst endpoint's p95; its errors count.

The load comes from one asyncio loop speaking HTTP/1.1 over keep-alive connections (one per
simulated browser or worker, as a browser keeps one), so the generator costs a few percent of
a core. A connection the server closed while idle is reopened and the request sent again, as
browsers do; that time counts in the latency.

Last line: ``{"sqlite": {"p95_ms", "errors"}, "postgresql": {...}, "leaderboard_100k_p95_ms"}``
(p95_ms: the worst endpoint's; leaderboard_100k_p95_ms: the worst database's read after a
change).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._lecture_setup import BIG_ROUND, HALL, LectureServer, reset_postgres

DURATION_S = 25.0
STUDENTS = 300
POLL_EVERY_S = 2.0
WORKERS = 30
PING_WAIT_S = 5.0  # the worker's default (mlcontest worker --wait)
SUBMITS_PER_S = 5.0
BIG_SAMPLES = 60
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/mlc_lecture"
# Each waiting long poll holds a gunicorn thread, so 30 workers would take 30 of the 32 threads
# that `mlcontest serve --processes 2` has by default (16 each) and browsers would queue behind
# them (measured: p95 about 1.5 s). 48 per process leaves room and keeps PostgreSQL's
# connections (one per thread that served a request) under its default limit of 100.
SERVER_THREADS = 48
LONG_POLL = "POST /actions/ping/ (long poll)"


class Http:
    """One keep-alive HTTP/1.1 connection: enough of the protocol for this server's answers."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.reconnects = 0

    async def _connect(self) -> None:
        self.close()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        if body or method in ("POST", "PATCH"):
            head.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        for attempt in (1, 2):
            if self.writer is None:
                await self._connect()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(raw)
                await self.writer.drain()
                status_line = await self.reader.readline()
                if not status_line:
                    raise ConnectionResetError("closed by the server while idle")
            except (ConnectionError, asyncio.IncompleteReadError):
                # Nothing was answered: the server had closed the idle connection. Reopen and
                # send again once, as a browser does.
                self.close()
                if attempt == 2:
                    raise
                self.reconnects += 1
                continue
            return await self._read_rest(status_line)
        raise AssertionError("not reached")

    async def _read_rest(self, status_line: bytes) -> tuple[int, dict[str, str], bytes]:
        assert self.reader is not None
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if status == 304 or status == 204:
            body = b""
        elif "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked()
        else:
            body = await self.reader.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    async def _read_chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readline()).strip().split(b";")[0], 16)
            if size == 0:
                await self.reader.readline()
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readline()


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)
    full_answers: int = 0  # leaderboard polls that got a body, not a 304

    def ok(self, endpoint: str, seconds: float) -> None:
        self.latencies.setdefault(endpoint, []).append(seconds * 1000)
        self.errors.setdefault(endpoint, 0)

    def error(self, endpoint: str, what: str) -> None:
        self.errors[endpoint] = self.errors.get(endpoint, 0) + 1
        self.latencies.setdefault(endpoint, [])
        self.samples.setdefault(endpoint, what[:300])

    def table(self) -> dict[str, dict[str, Any]]:
        return {name: summary(values, self.errors[name]) for name, values in self.latencies.items()}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def summary(values: list[float], errors: int = 0) -> dict[str, Any]:
    if not values:
        return {"count": 0, "errors": errors}
    return {
        "count": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
        "p99_ms": round(percentile(values, 0.99), 1),
        "errors": errors,
    }


async def timed(
    stats: Stats,
    endpoint: str,
    http: Http,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
    expect: tuple[int, ...] = (200,),
) -> tuple[int, dict[str, str], bytes] | None:
    started = time.perf_counter()
    try:
        answer = await asyncio.wait_for(http.request(method, path, headers, body), timeout=30)
    except Exception as error:  # any failure to get an answer is an error of this endpoint
        http.close()
        stats.error(endpoint, f"{type(error).__name__}: {error}")
        return None
    if answer[0] not in expect:
        stats.error(endpoint, f"{answer[0]} {answer[2][:200]!r}")
        return answer
    stats.ok(endpoint, time.perf_counter() - started)
    return answer


async def student(
    stats: Stats, http: Http, session: str, round_id: int, start: float, end: float
) -> None:
    """A browser on the round page: the leaderboard every 2 s, sending its last ETag."""
    tag = ""
    due = start + random.uniform(0, POLL_EVERY_S)
    path = f"/api/rounds/{round_id}/leaderboard/"
    while True:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        if time.perf_counter() >= end:
            return
        headers = {"Cookie": f"sessionid={session}", "Accept": "application/json"}
        if tag:
            headers["If-None-Match"] = tag
        answer = await timed(
            stats,
            "GET /api/rounds/<id>/leaderboard/",
            http,
            "GET",
            path,
            headers,
            expect=(200, 304),
        )
        if answer is not None and answer[0] == 200:
            tag = answer[1].get("etag", "")
            stats.full_answers += 1
        due += POLL_EVERY_S  # a fixed schedule: a slow server does not lower the offered load


def form(fields: dict[str, Any]) -> bytes:
    return urllib.parse.urlencode(fields).encode()


async def worker(
    stats: Stats, http: Http, token: str, name: str, labels: dict[str, list[str]], end: float
) -> None:
    """The seed's worker loop: ping (long poll), job params, post the result."""
    auth = {"Authorization": f"Token {token}", "Content-Type": "application/x-www-form-urlencoded"}
    # With a token, a claim belongs to the token and the worker's name: send it every time.
    named = form({"worker_name": name})
    rng = random.Random(name)
    while time.perf_counter() < end:
        answer = await timed(
            stats,
            LONG_POLL,
            http,
            "POST",
            "/actions/ping/",
            auth,
            form({"wait": PING_WAIT_S, "worker_name": name}),
        )
        if answer is None or answer[0] != 200:
            await asyncio.sleep(0.5)
            continue
        job_id = json.loads(answer[2])
        if job_id is None:
            continue
        await timed(
            stats,
            "POST /actions/get_job_params/<id>.json/",
            http,
            "POST",
            f"/actions/get_job_params/{job_id}.json/",
            auth,
            named,
        )
        predicted = {
            split: [label if rng.random() > 0.3 else rng.choice("ab") for label in truth]
            for split, truth in labels.items()
        }
        fields = {f"labels_{split}": json.dumps(values) for split, values in predicted.items()}
        fields.update(
            score_test="None",
            score_validation="None",
            extra_scores_test="null",
            extra_scores_validation="null",
            message="None",
            success="True",
            worker_name=name,
        )
        await timed(
            stats,
            "POST /actions/update_job_details/<id>.json/",
            http,
            "POST",
            f"/actions/update_job_details/{job_id}.json/",
            auth,
            form(fields),
        )


async def submitter(
    stats: Stats, host: str, port: int, tokens: list[str], round_id: int, start: float, end: float
) -> None:
    """Students scripting submissions, 5 per second in all, each on a connection of a pool."""
    pool: list[Http] = []
    tasks = []
    rng = random.Random(5)

    async def one(token: str) -> None:
        http = pool.pop() if pool else Http(host, port)
        body = json.dumps({"algorithm": "knn", "params": {"n_neighbors": rng.randint(1, 15)}})
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        await timed(
            stats,
            "POST /api/rounds/<id>/jobs/",
            http,
            "POST",
            f"/api/rounds/{round_id}/jobs/",
            headers,
            body.encode(),
            expect=(201,),
        )
        pool.append(http)

    due = start
    while due < end:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(rng.choice(tokens))))
        due += 1.0 / SUBMITS_PER_S
    await asyncio.gather(*tasks)
    for http in pool:
        http.close()


async def lecture(host: str, port: int, hall: dict[str, Any], duration: float) -> tuple[Stats, int]:
    stats = Stats()
    start = time.perf_counter() + 0.5
    end = start + duration
    students = [Http(host, port) for _ in hall["sessions"]]
    workers = [Http(host, port) for _ in range(WORKERS)]
    await asyncio.gather(
        *(
            student(stats, http, session, hall["round"], start, end)
            for http, session in zip(students, hall["sessions"], strict=True)
        ),
        *(
            worker(stats, http, hall["worker_tokens"][index], f"bench-{index}", hall["labels"], end)
            for index, http in enumerate(workers)
        ),
        submitter(stats, host, port, hall["student_tokens"], hall["round"], start, end),
    )
    reconnects = sum(http.reconnects for http in students + workers)
    for http in students + workers:
        http.close()
    return stats, reconnects


async def big_leaderboard(host: str, port: int, round_id: int, token: str) -> dict[str, Any]:
    """The 100,000-job round's leaderboard: right after a change (each read preceded by an edit
    that bumps the version, so no process has it cached), then unchanged (200 and 304)."""
    http = Http(host, port)
    stats = Stats()
    auth = {"Authorization": f"Token {token}"}
    path = f"/api/rounds/{round_id}/leaderboard/"
    for index in range(BIG_SAMPLES):
        body = json.dumps({"description": f"change {index}"}).encode()
        await http.request(
            "PATCH", f"/api/rounds/{round_id}/", {**auth, "Content-Type": "application/json"}, body
        )
        answer = await timed(stats, "after a change", http, "GET", path, auth)
        if index == 0 and answer is not None:
            standings = json.loads(answer[2])["standings"]
            assert len(standings) == 200, len(standings)
    tag = ""
    for _ in range(BIG_SAMPLES):
        answer = await timed(stats, "unchanged (200)", http, "GET", path, auth)
        tag = answer[1]["etag"] if answer else tag
    for _ in range(BIG_SAMPLES):
        await timed(
            stats,
            "unchanged (304)",
            http,
            "GET",
            path,
            {**auth, "If-None-Match": tag},
            expect=(304,),
        )
    http.close()
    return stats.table()


def run_database(
    name: str, database_url: str | None, threads: int, duration: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"mlc-lecture-{name}-") as folder:
        server = LectureServer(Path(folder), database_url, threads=threads).start()
        try:
            hall = json.loads(server.run_python(HALL))
            stats, reconnects = asyncio.run(lecture("127.0.0.1", server.port, hall, duration))
            after = json.loads(server.run_python(TURNAROUND.format(round=hall["round"])))
            big = json.loads(server.run_python(BIG_ROUND))
            big_table = asyncio.run(
                big_leaderboard("127.0.0.1", server.port, big["round"], hall["organizer_token"])
            )
        finally:
            server.stop()
    table = stats.table()
    served = {key: value for key, value in table.items() if key != LONG_POLL}
    return {
        "endpoints": table,
        "p95_ms": max(row.get("p95_ms", 0.0) for row in served.values()),
        "errors": sum(row["errors"] for row in table.values()),
        "leaderboard_full_answers": stats.full_answers,
        "reopened_idle_connections": reconnects,
        "error_samples": stats.samples,
        "jobs": after,
        "leaderboard_100k": big_table,
        "threads_per_process": threads,
    }


TURNAROUND = """
import json
from mlcontest.contest.models import Job
jobs = Job.objects.filter(round_id={round})
waits = sorted((job.finished_at - job.created_at).total_seconds() * 1000
               for job in jobs if job.finished_at)
pick = lambda f: round(waits[min(len(waits) - 1, int(f * len(waits)))], 1) if waits else None
print(json.dumps({{"submitted": jobs.count(), "finished": len(waits),
                   "turnaround_p50_ms": pick(0.5), "turnaround_p95_ms": pick(0.95)}}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--threads", type=int, default=SERVER_THREADS, help="gunicorn threads per process"
    )
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--duration", type=float, default=DURATION_S, help="seconds of load")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    for name in ("sqlite", "postgresql"):
        if args.only and name != args.only:
            continue
        url = None
        if name == "postgresql":
            if not reset_postgres(POSTGRES_URL):
                print("PostgreSQL is not reachable: skipped", flush=True)
                continue
            url = POSTGRES_URL
        print(
            f"== {name}: {STUDENTS} students, {WORKERS} workers, {SUBMITS_PER_S}/s submissions, "
            f"{args.duration:.0f} s",
            flush=True,
        )
        results[name] = run_database(name, url, args.threads, args.duration)
        print(json.dumps(results[name], indent=1), flush=True)
    worst_big = max(
        (result["leaderboard_100k"]["after a change"]["p95_ms"] for result in results.values()),
        default=None,
    )
    final = {
        name: {"p95_ms": result["p95_ms"], "errors": result["errors"]}
        for name, result in results.items()
    }
    final["leaderboard_100k_p95_ms"] = worst_big  # type: ignore[assignment]
    print(json.dumps(final))
    return 0


if __name__ == "__main__":
    sys.exit(main())
