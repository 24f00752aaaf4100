# gcbench.py MEANWHILED N: latency of N gctrace pushes of 5 cycles each (what an agent
# sends every few seconds) to a fresh meanwhiled, on one keep-alive connection: the
# rollups cost on GC ingest (docs/PERFORMANCE.md, "The per-minute rollups on ingest").
import http.client, sys, time, subprocess, re, tempfile, os, statistics
binary = sys.argv[1]; n = int(sys.argv[2])
d = tempfile.mkdtemp(prefix="gcb")
log = open(d + "/log", "w")
p = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--data", d], stdout=log, stderr=log)
port = None
for _ in range(100):
    time.sleep(0.05)
    m = re.search(r'msg="listening" addr=[^ ]*:(\d+)', open(d + "/log").read())
    if m: port = int(m.group(1)); break
c = http.client.HTTPConnection("127.0.0.1", port)
ps = (int(time.time()) - 3600) * 10**9
lat = []
for i in range(n):
    # 5 cycles a push, 1 s apart: what an agent sends every few seconds
    body = "".join(f"gc {i*5+k+1} @{i*5+k+1}.000s 1%: 0.020+2.0+0.030 ms clock, 0.080+1.0/3.0/0.50+0.12 ms cpu, 13->12->8 MB, 16 MB goal, 0 MB stacks, 0 MB globals, 4 P\n" for k in range(5))
    t = time.perf_counter()
    c.request("POST", f"/api/v1/ingest/gctrace?service=s&instance=i&process_start={ps}", body=body, headers={"Content-Type": "text/plain"})
    r = c.getresponse(); r.read()
    lat.append((time.perf_counter() - t) * 1e3)
    assert r.status == 200
p.terminate(); p.wait()
import shutil; shutil.rmtree(d, ignore_errors=True)
lat.sort()
print(f"gctrace push of 5 cycles x{n}: p50 {lat[n//2]:.3f} ms p90 {lat[int(n*0.9)]:.3f} ms mean {statistics.mean(lat):.3f} ms")
