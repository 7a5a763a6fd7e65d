import time, atexit, statistics, cProfile, pstats, os
from service import create_app
_app = create_app()
_t = []
_pr = cProfile.Profile() if os.environ.get("PROF") else None
def app(environ, start_response):
    t0 = time.perf_counter()
    if _pr: _pr.enable()
    try:
        return _app(environ, start_response)
    finally:
        if _pr: _pr.disable()
        _t.append((environ["PATH_INFO"], time.perf_counter() - t0))
def _dump():
    by = {}
    for p, s in _t: by.setdefault(p.split("/")[3] if p.count("/")>2 else p, []).append(s)
    with open("/tmp/prof/inside.txt", "w") as f:
        for k, v in by.items(): f.write(f"{k} n={len(v)} median={statistics.median(v)*1000:.3f} ms\n")
    if _pr: _pr.dump_stats("/tmp/prof/inside.prof")
atexit.register(_dump)
