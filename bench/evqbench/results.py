"""What a run collects: every timed sample, the counts of the untimed runs
(system calls and instructions per event), and from them each library's
median, spread and whether two libraries' samples overlap (noise)."""
import statistics


class Results:
    def __init__(self):
        self.samples = []       # (case, metric, lib, round, value)
        self.extra = {}         # (case, lib) -> {"syscalls": x, "instr": y}
        self.meta = {}          # case -> (bench, metrics list)
        self.order = []

    def add_case(self, case, metrics):
        if case["name"] not in self.meta:
            self.meta[case["name"]] = (case["bench"], metrics)
            self.order.append(case["name"])

    def add(self, case, lib, rnd, values):
        for k, v in values.items():
            self.samples.append((case["name"], k, lib, rnd, v))

    def values(self, case, metric, lib):
        return [s[4] for s in self.samples if s[0] == case and s[1] == metric and s[2] == lib]

    def median(self, case, metric, lib):
        v = self.values(case, metric, lib)
        return statistics.median(v) if v else None

    def overlap(self, case, metric, a, b):
        """True when the sample ranges of libraries a and b overlap (a
        difference within the noise of this machine)."""
        va, vb = self.values(case, metric, a), self.values(case, metric, b)
        if len(va) < 2 or len(vb) < 2:
            return False
        return min(va) <= max(vb) and min(vb) <= max(va)

    def spread(self, case, metric, lib):
        """(max - min) / median of the samples, or None."""
        v = self.values(case, metric, lib)
        if len(v) < 2:
            return None
        m = statistics.median(v)
        return (max(v) - min(v)) / m if m else None

    def counted_samples(self, case):
        """Instruction counts join the table as (deterministic) samples."""
        for (cname, lib), e in self.extra.items():
            if cname == case["name"]:
                self.add(case, lib, -1, {k: v for k, v in e.items() if k.startswith("instr")})
