"""`mpcheckout serve` under load on loopback, signatures checked: accepted webhooks/s and latency,
against a no-op endpoint (GET /healthz) on the same server in the same run.

Every webhook is distinct (its own notification id, payment id, request id and signature), so
each one is a real insert. The load generator is wrk (a Lua script cycling through pre-signed
requests); without wrk, a multi-process http.client generator in this file.

    python -m bench.serve [--duration 10] [--connections 32] [--workers 1]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from mpcheckout.signature import sign

SECRET = "bench-secret"
LUA = r"""
local requests, index = {}, 0
init = function(args)
  for line in io.lines(args[1]) do
    local path, request_id, signature, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
    requests[#requests + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/json", ["x-request-id"] = request_id,
      ["x-signature"] = signature}, body)
  end
  index = math.random(#requests)
end
request = function()
  index = index % #requests + 1
  return requests[index]
end
"""


def write_requests(path: Path, count: int) -> None:
    ts = int(time.time() * 1000)
    with path.open("w") as handle:
        for n in range(count):
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
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script), url, "--", str(requests)]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    use_wrk = shutil.which("wrk") is not None
    webhook, noop = [], []
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        requests = base / "requests.tsv"
        write_requests(requests, 400_000 if use_wrk else 60_000)
        script = base / "requests.lua"
        script.write_text(LUA)
        server, url = start_server(base, args.workers)
        try:
            for _ in range(args.repetitions):
                if use_wrk:
                    webhook.append(run_wrk(url, script, requests, args.duration, args.connections))
                    noop.append(
                        run_wrk(f"{url}/healthz", None, None, args.duration, args.connections)
                    )
                else:
                    lines = requests.read_text().splitlines()
                    webhook.append(run_python(url, lines, args.duration, args.connections))
                    noop.append(
                        run_python(url, ["GET\t\t\t"] * 60_000, args.duration, args.connections)
                    )
        finally:
            server.terminate()
            server.wait()
    _report(webhook, noop, args, "wrk" if use_wrk else "python http.client")


def _report(webhook, noop, args, generator: str) -> None:
    def median(runs, key):
        return statistics.median(run[key] for run in runs)

    ratios = [w["ok_per_second"] / n["ok_per_second"] for w, n in zip(webhook, noop, strict=True)]
    print(
        f"serve, {args.workers} worker(s), {args.connections} connections, {args.duration} s "
        f"x {args.repetitions}, load generator: {generator}, signatures checked"
    )
    for label, runs in (("signed webhooks (stored)", webhook), ("no-op GET /healthz", noop)):
        rates = [run["ok_per_second"] for run in runs]
        print(
            f"  {label:<26} median {statistics.median(rates):>7,.0f}/s "
            f"[{min(rates):,.0f}-{max(rates):,.0f}]  p50 {median(runs, 'p50_ms'):.1f} ms  "
            f"p99 {median(runs, 'p99_ms'):.1f} ms  failed {sum(r['failed'] for r in runs)}"
        )
    print(
        f"  ratio webhook/no-op: median {statistics.median(ratios):.2f} "
        f"({', '.join(f'{r:.2f}' for r in ratios)})"
    )


if __name__ == "__main__":
    main()
