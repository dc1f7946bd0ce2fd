"""What the Python clients of the benchmark share: the small-request measurement and the report.

Every client measures small requests first, then the bulk runs, as the Rust clients do.
"""
import concurrent.futures
import json
import resource
import time


def small_requests(echo_once, echo_calls, callers, per_caller):
    """Echo latency (p50, p99) and calls/s of concurrent callers, with `echo_once`."""
    for _ in range(50):
        echo_once()
    latencies = []
    for _ in range(echo_calls):
        start = time.perf_counter()
        echo_once()
        latencies.append(time.perf_counter() - start)
    latencies.sort()

    def caller(_):
        for _ in range(per_caller):
            echo_once()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(callers) as pool:
        list(pool.map(caller, range(callers)))
    elapsed = time.perf_counter() - start
    return {
        "echo_p50_us": latencies[len(latencies) // 2] * 1e6,
        "echo_p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
        "calls_per_s": per_caller * callers / elapsed,
    }


def report(small, times, rows):
    """Prints the JSON report: the small-request figures, the bulk run times, peak RSS."""
    print(json.dumps({
        **small,
        "times": times,
        "rows": rows,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))
