"""7. `mpcheckout serve` under load on loopback, signatures checked: accepted webhooks/s and
latency, against a no-op endpoint (GET /healthz, the baseline) on the same server in the same
run.

Every webhook is distinct (its own notification id, payment id, request id and signature), so
each one is a real insert, in every repetition. The load generator is wrk (a Lua script sending
pre-signed requests, each thread its own share); without wrk, a multi-process http.client
generator in this file.

    python -m bench.serve [--quick] [--json FILE]    (same as python -m bench --only serve)
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import (
    BenchResult,
    Comparison,
    Contender,
    Sample,
    Scale,
    TargetCheck,
    at_least,
    below,
    compare,
)
from mpcheckout.signature import sign

NAME = "serve"
TITLE = "7. serve: accepted webhooks/s and latency"
SECRET = "bench-secret"
THREADS = 2
# Each wrk thread keeps its own stripe of the file (line number modulo the thread count), so
# no request is sent twice while the file lasts: every webhook is a real insert.
LUA = r"""
local next_part = 0
setup = function(thread)
  thread:set("part", next_part)
  next_part = next_part + 1
end
local requests, index = {}, 0
init = function(args)
  local parts, n = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if n % parts == part then
      local path, request_id, signature, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
      requests[#requests + 1] = wrk.format("POST", path, {
        ["Content-Type"] = "application/json", ["x-request-id"] = request_id,
        ["x-signature"] = signature}, body)
    end
    n = n + 1
  end
end
request = function()
  index = index % #requests + 1
  return requests[index]
end
"""


def write_requests(path: Path, count: int, first: int = 0) -> None:
    """`count` distinct signed webhooks, numbered from `first`."""
    ts = int(time.time() * 1000)
    with path.open("w") as handle:
        for n in range(first, first + count):
            payment = str(7_000_000_000 + n)
            body = json.dumps(
                {
                    "action": "payment.updated",
                    "api_version": "v1",
                    "data": {"id": payment},
                    "date_created": "2026-11-28T10:00:00Z",
                    "id": 90_000_000 + n,
                    "live_mode": True,
                    "type": "payment",
                    "user_id": 724484980,
                },
                separators=(",", ":"),
            )
            request_id = f"bench-{n}"
            signature = sign(SECRET, payment, request_id, ts)
            handle.write(
                f"/webhooks/mercadopago?data.id={payment}&type=payment\t{request_id}\t"
                f"{signature}\t{body}\n"
            )


def start_server(folder: Path, workers: int) -> tuple[subprocess.Popen, str]:
    env = {
        **os.environ,
        "MPCHECKOUT_MERCADOPAGO__WEBHOOK_SECRETS": SECRET,
        "MPCHECKOUT_LOCALE": "en",
        "MPCHECKOUT_DATABASE__URL": str(folder / "serve.db"),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mpcheckout",
            "serve",
            "--port",
            "0",
            "--workers",
            str(workers),
            "--json",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    url = json.loads(process.stdout.readline())["url"]
    time.sleep(1.0 if workers > 1 else 0.3)  # worker processes import the app after the bind
    return process, url


def run_wrk(
    url: str, script: Path | None, requests: Path | None, seconds: int, connections: int
) -> dict[str, float]:
    command = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script), url, "--", str(requests), str(THREADS)]
    else:
        command.append(url)
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", text).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    failed = int(errors.group(1)) if errors else 0
    elapsed = float(re.search(r"requests in ([\d.]+)s", text).group(1))
    return {
        "ok_per_second": (total - failed) / elapsed,
        "failed": failed,
        "sent": total,
        "p50_ms": _ms(text, "50%"),
        "p99_ms": _ms(text, "99%"),
    }


def _ms(text: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _client_worker(args) -> list[tuple[float, int]]:
    url, lines, deadline = args
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    results = []
    for line in lines:
        if time.time() > deadline:
            break
        path, request_id, signature, body = line.rstrip("\n").split("\t", 3)
        started = time.perf_counter()
        if path == "GET":
            connection.request("GET", "/healthz")
        else:
            connection.request(
                "POST",
                path,
                body,
                {
                    "Content-Type": "application/json",
                    "x-request-id": request_id,
                    "x-signature": signature,
                },
            )
        response = connection.getresponse()
        response.read()
        results.append((time.perf_counter() - started, response.status))
    return results


def run_python(url: str, lines: list[str], seconds: int, connections: int) -> dict[str, float]:
    """Fallback load generator: `connections` processes, one keep-alive connection each."""
    deadline = time.time() + seconds
    chunks = [(url, lines[index::connections], deadline) for index in range(connections)]
    started = time.perf_counter()
    with multiprocessing.Pool(connections) as pool:
        results = [item for chunk in pool.map(_client_worker, chunks) for item in chunk]
    elapsed = time.perf_counter() - started
    latencies = sorted(latency for latency, _ in results)
    ok = sum(1 for _, status in results if status == 200)
    return {
        "ok_per_second": ok / elapsed,
        "failed": len(results) - ok,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


def run(scale: Scale) -> BenchResult:
    use_wrk = shutil.which("wrk") is not None
    seconds = scale.pick(full=10, quick=1)
    connections = scale.pick(full=32, quick=32 if use_wrk else 4)
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        base = Path(folder)
        script = base / "requests.lua"
        script.write_text(LUA)
        server, url = start_server(base, workers=1)
        try:
            load = _Load(url, use_wrk, base, seconds, connections)
            contenders = [
                Contender("noop", "no-op GET /healthz", lambda _: load.noop()),
                Contender("webhook", "signed webhooks, stored", lambda _: load.webhooks()),
            ]
            generator = "wrk" if use_wrk else "python http.client"
            title = (
                f"1 worker, {connections} connections, {seconds} s per run, load generator "
                f"{generator}, signatures checked"
            )
            comparison = compare(title, "requests/s", contenders, scale)
        finally:
            server.terminate()
            server.wait()
    return BenchResult(NAME, TITLE, [comparison], _targets(comparison), _NOTES)


class _Load:
    """Each webhook run sends requests never sent before (a fresh file, numbered on from the
    previous run's), so a later repetition does not measure cheaper duplicates."""

    CEILING_PER_SECOND = 40_000  # requests written per second of a run, above what it reaches

    def __init__(self, url: str, use_wrk: bool, folder: Path, seconds: int, connections: int):
        self.url, self.use_wrk, self.folder = url, use_wrk, folder
        self.seconds, self.connections = seconds, connections
        self.written = 0

    def webhooks(self) -> Sample:
        count = self.seconds * (self.CEILING_PER_SECOND if self.use_wrk else 6_000)
        requests = self.folder / "requests.tsv"
        write_requests(requests, count, first=self.written)
        self.written += count
        if self.use_wrk:
            script = self.folder / "requests.lua"
            figures = run_wrk(self.url, script, requests, self.seconds, self.connections)
        else:
            lines = requests.read_text().splitlines()
            figures = run_python(self.url, lines, self.seconds, self.connections)
            figures["sent"] = figures["ok_per_second"] * self.seconds + figures["failed"]
        requests.unlink()
        figures["repeated"] = max(0, figures.pop("sent") - count)
        return _sample(figures)

    def noop(self) -> Sample:
        if self.use_wrk:
            figures = run_wrk(f"{self.url}/healthz", None, None, self.seconds, self.connections)
        else:
            lines = ["GET\t\t\t"] * 60_000
            figures = run_python(self.url, lines, self.seconds, self.connections)
        figures.pop("sent", None)
        return _sample(figures)


def _sample(figures: dict[str, float]) -> Sample:
    details = {key: value for key, value in figures.items() if key != "ok_per_second"}
    return Sample(figures["ok_per_second"], details)


def _targets(comparison: Comparison) -> list[TargetCheck]:
    webhook = comparison.get("webhook")
    p99 = webhook.detail_median("p99_ms")
    failed = webhook.detail_total("failed")
    return [
        at_least(
            "≥ 0.5× no-op endpoint", webhook.median_ratio, 0.5, f"{webhook.median_ratio:.2f}×"
        ),
        at_least("≥ 1,500 webhooks/s", webhook.median, 1500, f"{webhook.median:,.0f}/s"),
        below("p99 < 25 ms", p99, 25, f"{p99:.1f} ms ({failed:.0f} failed)"),
    ]


_NOTES = [
    "requests/s counts 2xx answers only; p50/p99 are the load generator's latencies",
    "every webhook sent is distinct (repeated: requests sent again after the file ran out)",
]


if __name__ == "__main__":
    from bench.__main__ import main

    main(["--only", NAME, *sys.argv[1:]])
