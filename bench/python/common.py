"""What the Python clients of the benchmark share: the echo measurement and the report."""
import concurrent.futures
import json
import resource
import time


def report(times, rows, echo_once, echo_calls, callers, per_caller):
    """Measures echo latency and calls/s with `echo_once`, and prints the JSON report."""
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
    print(json.dumps({
        "times": times,
        "rows": rows,
        "echo_p50_us": latencies[len(latencies) // 2] * 1e6,
        "echo_p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
        "calls_per_s": per_caller * callers / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))
