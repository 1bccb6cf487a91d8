"""GenCP READMEM round trips through pyusb: p50/p99 latency (JSON)."""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from pyusb_u3v import PyusbHost, find_camera  # noqa: E402

host = PyusbHost(find_camera())
count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
times = []
for _ in range(count):
    start = time.perf_counter()
    host.read(0x1CC, 4)
    times.append(time.perf_counter() - start)
times.sort()
print(json.dumps({"count": count, "p50_ms": times[len(times) // 2] * 1e3,
                  "p99_ms": times[int(len(times) * 0.99)] * 1e3}))
