#!/usr/bin/env python3
"""cfgit benchmark runner (started by bench/run, which installs packages and, when PostgreSQL is
wanted, wraps this in scripts/with-postgres.sh). Python 3 standard library only.

Every measured step runs under bench/timeit (a small C program built at the start of a run),
which reports what GNU time's `%e %M %U %S %R %F` would, with the wall time to the microsecond: wall
and CPU seconds, peak RSS and page faults of the command (and its children). Loose objects in the
store are counted after every cfgit step.
"""
import argparse
import csv
import datetime
import json
import os
import platform
import shlex
import signal
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GEN = os.path.join(HERE, "gen")

CFGIT_YAML_TABLES = """
tables:
  "*":              { rule: merge }
  uiSchemas:        { json: [schema] }
  collections:      { json: [options] }
  fields:           { json: [options] }
  desktopRoutes:    { json: [options] }
  roles:            { json: [strategy, snippets] }
  rolesResources:   { key: [roleName, name] }
  workflows:        { json: [config, options], ignore: [executed, allExecuted] }
  flow_nodes:       { json: [config] }
  systemSettings:   { json: [enabledLanguages, logo, options] }
"""

# Operation -> the alternative it is compared with.
ALT_OF = {
    "commit: first": "files+git: dump + add + commit, first",
    "commit: no change": "files+git: dump + add + commit, no change",
    "commit: 1% changed": "files+git: dump + add + commit, 1% changed",
    "diff --stat: 1% (two commits)": "files+git: git diff --stat",
    "diff text: 1% (two commits)": "files+git: git diff (text)",
    "merge: two disjoint 1% branches": "files+git: git merge",
    "apply: 1%": "overwrite: delete all + insert all",
    "rollback: 1%": "overwrite: delete all + insert all",
    "apply: full, into an empty database": "overwrite: create + insert all, empty database",
}


def private_memory_kb(pid):
    """The sum of RssAnon (kB) of the processes below `pid` (the timer's children and theirs)."""
    total, todo = 0, [pid]
    while todo:
        q = todo.pop()
        try:
            for task in os.listdir(f"/proc/{q}/task"):
                with open(f"/proc/{q}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
            if q != pid:
                with open(f"/proc/{q}/status") as f:
                    for line in f:
                        if line.startswith("RssAnon:"):
                            total += int(line.split()[1])
                            break
        except (OSError, ValueError):
            pass
    return total


def cpu_seconds():
    """CPU seconds the whole machine has spent busy since it started, and those the hypervisor
    took from it (steal) (/proc/stat, all CPUs; idle and I/O wait left out of busy)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]] + [0] * 8
    tick = os.sysconf("SC_CLK_TCK")
    busy = sum(fields[:7]) - fields[3] - fields[4]
    return busy / tick, fields[7] / tick


def cached_fraction(files):
    """The share of the bytes of `files` that are in the page cache (`fincore`, from
    util-linux-extra, which bench/run installs); None when it cannot be told."""
    try:
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES,SIZE"] + files,
                             capture_output=True, text=True, check=True).stdout
        pairs = [[int(x) for x in line.split()] for line in out.splitlines() if line.strip()]
        # fincore counts whole pages: a file's last page may reach past its end.
        resident, size = sum(min(r, s) for r, s in pairs), sum(s for _, s in pairs)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None
    return round(resident / size, 3) if size else None


class Failure(Exception):
    pass


class Bench:
    def __init__(self, args):
        self.args = args
        self.results = []
        self.notes = []
        self.cfgit = None
        self.timeit = None
        self.log = open(os.path.join(args.work, "bench.log"), "a")

    # -- running things ------------------------------------------------------------------------
    def sh(self, cmd, cwd=None, env=None, check=True, stdout=None, input=None):
        """Runs a setup command (not measured)."""
        self.log.write(f"$ {cmd if isinstance(cmd, str) else shlex.join(cmd)}\n")
        self.log.flush()
        p = subprocess.run(cmd, cwd=cwd, env=env, shell=isinstance(cmd, str), input=input,
                           stdout=stdout if stdout is not None else self.log, stderr=subprocess.PIPE)
        if p.returncode != 0 and check:
            sys.stderr.write(p.stderr.decode(errors="replace"))
            raise Failure(f"setup command failed (exit {p.returncode}): {cmd}")
        if p.stderr:
            self.log.write(p.stderr.decode(errors="replace"))
        return p

    def measure(self, op, backend, size, cmd, cwd=None, env=None, tool="cfgit", ok=(0,), store=None,
                stdout=subprocess.DEVNULL, note="", limit=None, again=None, floor=None):
        """Runs cmd (list, or a string for bash) under bench/timeit and records the figures: wall
        time (to the microsecond; GNU time's `%e`, used until run 35, has 10 ms steps), CPU time,
        peak resident memory (the command's maximum RSS, which counts the pages of files the
        process maps, such as a store's packs) and peak private memory (the largest sum of RssAnon
        over the processes below timeit, sampled every 5 ms: heap and stacks only).
        With `limit` (seconds), a command still running then is stopped and recorded as such.
        With `again` (a step that can be run again: a callable that puts back what the step
        changed, run before each further run), a step that took under --repeat-under seconds is
        run --repeat times in all and the run of median wall time is recorded (of an even
        number, the faster middle one), with every run's time: one run of a short step on this
        machine is within its noise. A run stopped at the limit ends the repeats and is what is
        recorded. With `floor` (the floor's command), the floor is run just before each run of
        the step, and the step's `x floor` is its median over the median of those floor runs: the
        machine's speed (and a database server's) changes by tens of percent from one minute to
        the next, so a floor measured minutes before is not the same conditions. One more floor
        run comes first and is not counted: the first read of rows just changed costs more (a
        PostgreSQL server sets their hint bits), and neither side should pay it."""
        floors = []

        def run_floor(label):
            return self._run(f"{op} ({label})", backend, size, floor, cwd, env, "floor", (0,), None,
                             subprocess.DEVNULL, limit)["seconds"]

        if floor:
            run_floor("its floor, not counted")

        def one():
            if floor:
                floors.append(run_floor("its floor"))
            return self._run(op, backend, size, cmd, cwd, env, tool, ok, store, stdout, limit)

        runs = [one()]
        if again and not runs[0].get("stopped") and self.args.repeat > 1 and \
                runs[0]["seconds"] < self.args.repeat_under:
            for _ in range(self.args.repeat - 1):
                again()
                runs.append(one())
                if runs[-1].get("stopped"):
                    break
        if runs[-1].get("stopped"):
            r = runs[-1]
        else:
            r = sorted(runs, key=lambda x: x["seconds"])[(len(runs) - 1) // 2]
        median = ""
        if len(runs) > 1:
            r["runs"] = [x["seconds"] for x in runs]
            times = ", ".join(f"{x:.3f}" for x in r["runs"])
            median = f"median of {len(runs)} runs ({times} s)"
        paired = ""
        if floors:
            r["floor_runs"] = floors
            r["paired_floor"] = sorted(floors)[(len(floors) - 1) // 2]
            paired = "floor just before each run: " + ", ".join(f"{x:.3f}" for x in floors) + " s"
        # What else the machine did during each run, and what the run found in memory.
        r["run_conditions"] = [x["conditions"] for x in runs if "conditions" in x]
        for x in runs:
            x.pop("conditions", None)
        r["note"] = "; ".join(x for x in (note, r["note"], median, paired) if x)
        self.results.append(r)
        self.save_partial()
        if r.get("stopped"):
            self.notes.append(f"{op} [{backend} {size}]: stopped at the {limit} s limit")
            print(f"  {op:<46} > {limit} s: stopped at the time limit", flush=True)
            return r
        mb, priv, loose = r["peak_mb"], r["private_mb"], r["loose_objects"]
        extra = f"  loose objects: {loose}" if loose is not None else ""
        if len(runs) > 1:
            extra += f"  (median of {times} s)"
        if floors:
            extra += f"  (floor before each: {', '.join(f'{x:.3f}' for x in floors)} s)"
        print(f"  {op:<46} {r['seconds']:9.3f} s (cpu {r['cpu_seconds'] or 0:8.2f} s) {mb or 0:8.1f} MB "
              f"(private {priv or 0:7.1f} MB){extra}", flush=True)
        return r

    def _run(self, op, backend, size, cmd, cwd, env, tool, ok, store, stdout, limit):
        """One run of a step (see measure): its figures, or raises Failure."""
        # What earlier steps left unwritten is written out first, not during this step.
        os.sync()
        argv = cmd if isinstance(cmd, list) else ["bash", "-c", "set -eo pipefail; " + cmd]
        self.log.write(f"[{backend} {size}] {op}: $ {shlex.join(argv)}\n")
        self.log.flush()
        # The conditions of the run (recorded, not controlled): how much of the store's packs
        # and memos the page cache held (this machine pages out file pages unused for about a
        # minute), how fast the machine ran a fixed loop just before (its speed varies with its
        # host's load), and the CPU time other processes used while it ran (a database server's
        # background work, this runner's own polling aside) or the hypervisor took.
        files = [os.path.join(d, n) for top in ("objects/pack", "cfgit") if store
                 for d, _, names in os.walk(os.path.join(store, top)) for n in names]
        cached = cached_fraction(files) if files else None
        if files and cached is None:
            self.note_once("store_cached not recorded: `fincore` (util-linux-extra) could not "
                           "tell how much of a store is in the page cache")
        probe = self.probe()
        if probe is None:
            self.note_once("probe_ms not recorded: `timeit --probe` failed")
        (busy0, steal0), own0 = cpu_seconds(), sum(os.times()[:2])
        # A timer of its own, not wait4's figures for a process Python started: that process is
        # forked from Python, and its peak RSS counts Python's pages until it runs the command.
        # The wall time is the timer's too, so polling here every 5 ms does not round it.
        with tempfile.NamedTemporaryFile("r", suffix=".time") as timing, \
                tempfile.TemporaryFile() as errf:
            t0 = time.monotonic()
            p = subprocess.Popen([self.timeit, timing.name] + argv, cwd=cwd, env=env, stdout=stdout,
                                 stderr=errf, start_new_session=True)
            private_kb, killed = 0, False
            try:
                while p.poll() is None:
                    private_kb = max(private_kb, private_memory_kb(p.pid))
                    if limit and not killed and time.monotonic() - t0 > limit:
                        os.killpg(p.pid, signal.SIGKILL)
                        killed = True
                    time.sleep(0.005)
            finally:
                if p.returncode is None:  # interrupted: nothing is left running
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except OSError:
                        pass
                    p.wait()
            wall = time.monotonic() - t0  # only for a step stopped at the limit
            busy1, steal1 = cpu_seconds()
            busy, steal = busy1 - busy0 - (sum(os.times()[:2]) - own0), steal1 - steal0
            errf.seek(0)
            err = errf.read().decode(errors="replace")
            lines = [l for l in timing.read().splitlines() if l.strip()]
        # Stopped: killed at the limit (not a run that ended as the limit passed).
        stopped = killed and p.returncode < 0
        if err:
            self.log.write(err[-4000:] + "\n")
        base = {"backend": backend, "rows": size, "tool": tool, "op": op}
        # /proc/stat counts in 10 ms ticks: a short run's figures are that coarse.
        conditions = {"steal_cpu_seconds": round(steal, 2)}
        if probe is not None:
            conditions["probe_ms"] = probe
        if cached is not None:
            conditions["store_cached"] = cached
        if stopped:  # what others did meanwhile, the stopped command included
            return dict(base, seconds=round(wall, 4), cpu_seconds=None, peak_mb=None,
                        private_mb=round(private_kb / 1024.0, 1), loose_objects=None, stopped=True,
                        note=f"stopped at the {limit} s limit",
                        conditions=dict(conditions, others_cpu_seconds=round(max(0.0, busy), 2)))
        if p.returncode not in ok:
            sys.stderr.write(f"\nFAILED ({tool}, exit {p.returncode}): {op} [{backend} {size}]\n"
                             f"  $ {shlex.join(argv)}\n{err[-3000:]}\n")
            raise Failure(f"{tool} failed: {op}")
        try:
            secs, kb, us, ss, minflt, majflt = lines[-1].split()
            secs, mb, cpu = float(secs), int(kb) / 1024.0, round(float(us) + float(ss), 3)
            conditions.update(minor_faults=int(minflt), major_faults=int(majflt),
                              others_cpu_seconds=round(max(0.0, busy - cpu), 2))
        except (IndexError, ValueError):
            secs, mb, cpu = wall, None, None
        return dict(base, seconds=round(secs, 4), cpu_seconds=cpu,
                    peak_mb=round(mb, 1) if mb is not None else None,
                    private_mb=round(private_kb / 1024.0, 1) if private_kb else None,
                    loose_objects=self.loose(store) if store else None, note="",
                    conditions=conditions)

    def note_once(self, text):
        """A note for the report, once however often it applies."""
        if text not in self.notes:
            self.notes.append(text)

    def probe(self):
        """Milliseconds a fixed CPU-bound loop takes just now (`timeit --probe`, the median of
        three): the machine's own speed before a run, to tell a slower machine from a slower
        command; None when the probe fails."""
        try:
            out = subprocess.run([self.timeit, "--probe"], capture_output=True, text=True,
                                 check=True, timeout=30).stdout
            return round(float(out), 2)
        except (OSError, subprocess.SubprocessError, ValueError):
            return None

    def save_partial(self):
        """Every figure so far, in case the run is stopped before its report."""
        try:
            os.makedirs(self.args.out, exist_ok=True)
            with open(os.path.join(self.args.out, "partial.json"), "w") as f:
                json.dump({"results": self.results}, f, indent=1)
        except OSError:
            pass

    @staticmethod
    def loose(store):
        n = 0
        objects = os.path.join(store, "objects")
        for d in os.listdir(objects) if os.path.isdir(objects) else []:
            if len(d) == 2:
                n += len(os.listdir(os.path.join(objects, d)))
        return n

    # -- build ----------------------------------------------------------------------------------
    def build(self):
        # The timer of every step (bench/timeit.c), into the work directory.
        self.timeit = os.path.join(self.args.work, "timeit")
        self.sh(["cc", "-O2", "-Wall", "-o", self.timeit, os.path.join(HERE, "timeit.c")])
        if self.args.cfgit:
            self.cfgit = os.path.abspath(self.args.cfgit)
            # cfgit loads its PostgreSQL adapter from beside itself (docs/postgresql.md).
            module = os.path.join(os.path.dirname(self.cfgit), "cfgit-postgres.so")
            if ("postgres" in self.args.backends and not os.environ.get("CFGIT_POSTGRES_MODULE")
                    and not os.path.exists(module)):
                sys.exit(f"--cfgit {self.cfgit}: the PostgreSQL steps need {module} from the same "
                         "build (or CFGIT_POSTGRES_MODULE naming it)")
            return
        bdir = os.path.join(ROOT, "build", "bench")
        print(f"Building cfgit (RelWithDebInfo, -j2) in {bdir}", flush=True)
        self.sh(["cmake", "-S", ROOT, "-B", bdir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DBUILD_TESTING=OFF"])
        self.sh(["cmake", "--build", bdir, "-j2", "--target", "cfgit"])
        self.cfgit = os.path.join(bdir, "cfgit")

    # -- per backend helpers --------------------------------------------------------------------
    def tables(self):
        return subprocess.run([GEN, "tables"], check=True, stdout=subprocess.PIPE).stdout.decode().split()


class SqliteSide:
    name = "sqlite"

    def __init__(self, bench, d, size):
        self.b, self.d, self.size = bench, d, size

    def path(self, db):
        return os.path.join(self.d, db + ".db")

    def url(self, db):
        return "sqlite:" + self.path(db)

    def gen_args(self, db):
        return ["--sqlite", self.path(db)]

    def exists(self, db):
        return os.path.exists(self.path(db))

    def copy(self, src, dst):
        shutil.copyfile(self.path(src), self.path(dst))

    def drop(self, db):
        if os.path.exists(self.path(db)):
            os.remove(self.path(db))

    def settle(self, dbs):
        """Nothing runs on behind a stopped SQLite step (see PgSide.settle)."""

    def floor_cmd(self, db, tables):
        p = shlex.quote(self.path(db))
        return " && ".join(f"sqlite3 {p} 'SELECT * FROM \"{t}\"' >/dev/null" for t in tables)

    def overwrite_cmd(self, target, source, tables, create=False):
        """Delete all + insert all, in one transaction (the source's rows through ATTACH)."""
        script = ["PRAGMA foreign_keys=OFF;", f"ATTACH '{self.path(source)}' AS src;", "BEGIN;"]
        if create:
            ddl = subprocess.run([GEN, "ddl", "--dialect", "sqlite"], check=True,
                                 stdout=subprocess.PIPE).stdout.decode()
            script.append(ddl)
        for t in reversed(tables):
            script.append(f'DELETE FROM main."{t}";')
        for t in tables:
            script.append(f'INSERT INTO main."{t}" SELECT * FROM src."{t}";')
        script.append("COMMIT;")
        f = os.path.join(self.d, f"overwrite-{target}.sql")
        with open(f, "w") as fh:
            fh.write("\n".join(script) + "\n")
        return f"sqlite3 {shlex.quote(self.path(target))} < {shlex.quote(f)}"


class PgSide:
    name = "postgres"

    def __init__(self, bench, d, size):
        self.b, self.d, self.size = bench, d, size
        self.limit = bench.args.alt_limit
        self.prefix = f"b{size}_"
        self.host = os.environ["PGHOST"]
        self.port = os.environ["PGPORT"]
        self.user = os.environ["PGUSER"]

    def dbname(self, db):
        return (self.prefix + db).lower()

    def url(self, db):
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname(db)}"

    def conninfo(self, db):
        return f"host={self.host} port={self.port} user={self.user} dbname={self.dbname(db)}"

    def gen_args(self, db):
        return ["--pg", self.conninfo(db)]

    def psql(self, sql, db="postgres"):
        self.b.sh(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.conninfo(db) if db != "postgres"
                   else self.conninfo_server(), "-c", sql])

    def create_empty(self, db):
        self.drop(db)
        self.psql(f'CREATE DATABASE "{self.dbname(db)}"')

    def copy(self, src, dst):
        self.drop(dst)
        self.psql(f'CREATE DATABASE "{self.dbname(dst)}" TEMPLATE "{self.dbname(src)}"')

    def drop(self, db):
        # FORCE: an alternative stopped at the time limit may leave its server session running.
        self.psql(f'DROP DATABASE IF EXISTS "{self.dbname(db)}" WITH (FORCE)')

    def settle(self, dbs):
        """Ends what an earlier step left running on the server before the next measured steps.
        A psql stopped at the time limit does not stop its statement: the server ran it on until
        it ended or reached its own statement_timeout (the limit again, counted from when that
        statement began), so an overwrite stopped after 300 s could go on for up to 300 s more
        under the steps after it (overwrite_cmd now also asks the server to check the
        connection). The sessions on `dbs` are ended (pg_terminate_backend), then the runner
        waits until no other session runs a statement and no autovacuum worker runs (up to 120 s;
        a worker that starts later is not waited for). What was ended and how long was waited
        goes to the log, and is printed when there was any; a server still busy after 120 s is
        noted in the results."""
        t0 = time.monotonic()
        names = ", ".join("'" + self.dbname(db) + "'" for db in dbs)
        ended = self.query(f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           f"WHERE datname IN ({names}) AND pid <> pg_backend_pid()")
        waited = 0.0
        while time.monotonic() - t0 < 120:
            busy = self.query("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                              "AND pid <> pg_backend_pid() AND backend_type IN "
                              "('client backend', 'autovacuum worker')")
            if busy == "0":
                break
            time.sleep(0.5)
            waited += 0.5
        busy_after = busy != "0"
        msg = (f"server settled: {ended} session(s) of earlier steps ended, "
               f"{waited:.1f} s waited for running statements" +
               (f"; still {busy} running after 120 s" if busy_after else ""))
        self.b.log.write(msg + "\n")
        if ended != "0" or waited:
            print(f"  ({msg})", flush=True)
        if busy_after:
            self.b.notes.append(f"{msg} [postgres {self.size}]")

    def query(self, sql):
        p = self.b.sh(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", self.conninfo_server(), "-c", sql],
                      stdout=subprocess.PIPE)
        return p.stdout.decode().strip()

    def conninfo_server(self):
        return f"host={self.host} port={self.port} user={self.user} dbname=postgres"

    def floor_cmd(self, db, tables):
        cs = " ".join("-c " + shlex.quote('COPY "%s" TO STDOUT' % t) for t in tables)
        return f"psql -X -q -v ON_ERROR_STOP=1 -d {shlex.quote(self.conninfo(db))} {cs} >/dev/null"

    def overwrite_cmd(self, target, source, tables, create=False):
        """Delete all + COPY all from files dumped beforehand (not timed), in one transaction."""
        files = {}
        for t in tables:
            f = os.path.join(self.d, f"dump-{source}-{t}.copy")
            with open(f, "wb") as fh:
                subprocess.run(["psql", "-X", "-q", "-d", self.conninfo(source), "-c", f'COPY "{t}" TO STDOUT'],
                               check=True, stdout=fh)
            files[t] = f
        # A killed psql does not stop the statement it sent: the server runs it on until it ends or
        # reaches statement_timeout, counted from that statement's start. With
        # client_connection_check_interval the server notices the closed connection within a
        # second and stops it; settle() ends what is left after a stopped run.
        script = ["\\set ON_ERROR_STOP 1", f"SET statement_timeout = '{self.limit}s';",
                  "SET client_connection_check_interval = '1s';", "BEGIN;"]
        if create:
            ddl = subprocess.run([GEN, "ddl", "--dialect", "postgres"], check=True,
                                 stdout=subprocess.PIPE).stdout.decode()
            script.append(ddl)
        for t in reversed(tables):
            script.append(f'DELETE FROM "{t}";')
        for t in tables:
            script.append(f"\\copy \"{t}\" FROM '{files[t]}'")
        script.append("COMMIT;")
        f = os.path.join(self.d, f"overwrite-{target}.sql")
        with open(f, "w") as fh:
            fh.write("\n".join(script) + "\n")
        return f"psql -X -q -d {shlex.quote(self.conninfo(target))} -f {shlex.quote(f)} >/dev/null"


def run_size(b, side_cls, size):
    a = b.args
    backend = side_cls.name
    d = os.path.join(a.work, f"{backend}-{size}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    side = side_cls(b, d, size)
    tables = b.tables()
    print(f"\n== {backend}, {size} rows ({d})", flush=True)

    # Data: dev, and copies of the same base for devB, stage and the overwrite targets.
    if backend == "postgres":
        for db in ("dev", "devb", "stage", "fresh", "base", "ovw", "ovwempty"):
            side.drop(db)
        side.create_empty("dev")
    b.measure("generate (bench/gen create)", backend, size, [GEN, "create", "--rows", str(size), "--seed",
              str(a.seed)] + side.gen_args("dev"), tool="gen")
    for db in ("devb", "stage", "base", "ovw"):
        side.copy("dev", db)
    if backend == "postgres":
        side.create_empty("fresh")
        side.create_empty("ovwempty")
    else:
        open(side.path("ovwempty"), "w").close()

    b.measure("floor: stream all tables", backend, size, side.floor_cmd("dev", tables), tool="floor",
              again=lambda: None)

    ws = os.path.join(d, "ws")
    os.makedirs(ws)
    store = os.path.join(ws, ".cfgit")
    env = dict(os.environ, CFGIT_AUTHOR_NAME="Bench", CFGIT_AUTHOR_EMAIL="bench@example.com", NO_COLOR="1")
    cf = b.cfgit

    def setup(*argv):
        b.sh([cf] + list(argv), cwd=ws, env=env)

    def cfgit(op, *argv, stdout=subprocess.DEVNULL, note="", again=True, paired=None):
        """A cfgit step; `again`: it changes nothing but the store, so a short one is repeated
        (Bench.measure) with the store put back as it was before each further run."""
        put_back = None
        kept = os.path.join(d, "store-before-step")
        if again:
            copy_store(store, kept)

            def put_back():
                copy_store(kept, store)
        try:
            return b.measure(op, backend, size, [cf] + list(argv), cwd=ws, env=env, store=store, stdout=stdout,
                             note=note, again=put_back,
                             floor=side.floor_cmd(paired, tables) if paired else None)
        finally:
            shutil.rmtree(kept, ignore_errors=True)

    def change(db, variant, seed, pct=None, count=None):
        spec = ["--pct", str(pct)] if pct is not None else ["--count", str(count)]
        p = b.sh([GEN, "change", "--variant", variant, "--seed", str(seed)] + spec + side.gen_args(db),
                 stdout=subprocess.PIPE)
        info = json.loads(p.stdout.decode())
        b.log.write(f"change {db} {variant} {seed}: {info}\n")
        return info

    setup("init")
    with open(os.path.join(ws, "cfgit.yaml")) as f:
        text = f.read()
    if "\ntables:" in text:
        text = text[:text.index("\ntables:")] + "\n"
    with open(os.path.join(ws, "cfgit.yaml"), "w") as f:
        f.write(text + CFGIT_YAML_TABLES)
    for e in ("dev", "devb", "stage", "fresh"):
        setup("env", "add", e, side.url(e))

    cfgit("commit: first", "commit", "dev", "-m", "base", paired="dev")
    cfgit("commit: no change", "commit", "dev", "-m", "again", paired="dev")
    cfgit("diff live: no change", "diff", "dev")
    ca = change("dev", "A", a.seed, pct=a.pct)
    cfgit("diff live: 1% changed", "diff", "dev", note=json.dumps(ca))
    cfgit("commit: 1% changed", "commit", "dev", "-m", "variant A", note=json.dumps(ca), paired="dev")
    cfgit("diff --stat: 1% (two commits)", "diff", "dev~1", "dev", "--stat")
    cfgit("diff text: 1% (two commits)", "diff", "dev~1", "dev")
    cfgit("diff json: 1% (two commits)", "diff", "dev~1", "dev", "--format", "json")

    setup("branch", "devb", "dev~1")
    cb = change("devb", "B", a.seed, pct=a.pct)
    cfgit("commit: 1% changed (variant B)", "commit", "devb", "-m", "variant B", note=json.dumps(cb),
          paired="devb")
    setup("branch", "mergeA", "dev")
    cfgit("merge: two disjoint 1% branches", "merge", "devb", "--into", "mergeA", "-m", "merge B")

    # The alternatives on the same states: dev = base + A, devb = base + B.
    if not a.no_alt and (backend == "sqlite" or a.alt_postgres) and (not a.alt_max_rows or size <= a.alt_max_rows):
        run_files_git(b, side, backend, size)

    # Apply 1% to a database holding the base, rollback, full apply into an empty database.
    setup("branch", "stage", "dev~1")
    cfgit("apply: 1%", "apply", "stage", "dev", again=False)
    ow = side.overwrite_cmd("ovw", "dev", tables)
    b.measure("overwrite: delete all + insert all", backend, size, ow, tool="overwrite",
              limit=a.alt_limit)
    side.settle(["ovw"])  # stopped at the limit, it may still run on the server
    cfgit("rollback: 1%", "rollback", "stage", "--to", "dev~1", again=False)
    if backend == "sqlite":
        side.drop("fresh")
    setup("branch", "fresh", "dev")
    cfgit("apply: full, into an empty database", "apply", "fresh", again=False)
    ow = side.overwrite_cmd("ovwempty", "dev", tables, create=True)
    b.measure("overwrite: create + insert all, empty database", backend, size, ow, tool="overwrite",
              limit=a.alt_limit)
    side.settle(["ovwempty"])

    # Scaling: a fixed number of changed rows (not a percentage), diffed and merged.
    k = a.fixed
    ck = change("dev", "A", a.seed + 1, count=k)
    cfgit(f"commit: {k} rows changed", "commit", "dev", "-m", f"{k} rows", note=json.dumps(ck), paired="dev")
    cfgit(f"diff --stat: {k} rows (two commits)", "diff", "dev~1", "dev", "--stat")
    cfgit(f"diff text: {k} rows (two commits)", "diff", "dev~1", "dev")
    # stage back to dev~1 (base + A); applying dev there writes the k rows (the scaling row of
    # apply); then back to dev~1 and B's fixed-size change there: merging it into dev is a merge
    # of k rows against k rows over the base dev~1.
    setup("apply", "stage", "dev~1")
    cfgit(f"apply: {k} rows", "apply", "stage", "dev", note=json.dumps(ck), again=False)
    setup("apply", "stage", "dev~1")
    ck2 = change("stage", "B", a.seed + 1, count=k)
    setup("commit", "stage", "-m", f"{k} rows B")
    setup("branch", "mergeK", "dev")
    cfgit(f"merge: {k} rows vs {k} rows", "merge", "stage", "--into", "mergeK", "-m", "merge k",
          note=json.dumps(ck2))
    b.results.append({"backend": backend, "rows": size, "tool": "cfgit", "op": "store size (MB)",
                      "seconds": None, "peak_mb": round(du(store) / 2**20, 1),
                      "loose_objects": b.loose(store), "note": "du of .cfgit after the run"})
    if not a.keep:
        if backend == "postgres":
            for db in ("dev", "devb", "stage", "fresh", "base", "ovw", "ovwempty"):
                side.drop(db)
        shutil.rmtree(d, ignore_errors=True)


def copy_store(src, dst):
    """A copy of a store as it is: its packs (which no one writes into once they are made) are
    linked, not copied; every other file (memos are appended to, logs too) is copied."""
    def copy(s, t):
        if os.sep + os.path.join("objects", "pack") + os.sep in s:
            try:
                os.link(s, t)
                return
            except OSError:
                pass  # a file system without hard links: a copy does the same
        shutil.copy2(s, t)
    try:
        if os.path.exists(dst):
            shutil.rmtree(dst)
        shutil.copytree(src, dst, symlinks=True, copy_function=copy)
    except (OSError, shutil.Error) as e:
        raise Failure(f"copying the store {src} to {dst}: {e}")


def du(path):
    n = 0
    for dp, _dn, fn in os.walk(path):
        for f in fn:
            try:
                n += os.lstat(os.path.join(dp, f)).st_size
            except OSError:
                pass
    return n


def run_files_git(b, side, backend, size):
    """Rows dumped one file per row, committed with stock git."""
    d = os.path.join(side.d, "files")
    os.makedirs(d)
    gitdir = os.path.join(d, ".git")
    m0 = os.path.join(side.d, "manifest-base.json")
    m = os.path.join(side.d, "manifest.json")
    genv = dict(os.environ, GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.com",
                GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.com")
    b.sh(["git", "init", "-q", "-b", "main", d])
    for k, v in (("gc.auto", "0"), ("core.fsync", "none"), ("merge.renames", "false"), ("diff.renames", "false")):
        b.sh(["git", "-C", d, "config", k, v])
    tool = "files+git"

    def step(op, cmd, ok=(0,), again=None):
        return b.measure(op, backend, size, cmd, cwd=d, env=genv, tool=tool, ok=ok, store=gitdir,
                         limit=b.args.alt_limit, again=again)

    def dump(db, manifest):
        return f"{shlex.quote(GEN)} dump {' '.join(shlex.quote(x) for x in side.gen_args(db))} --out . --manifest {shlex.quote(manifest)} >/dev/null"

    commit = "git add -A && git commit -q -m x"
    step("files+git: dump rows to files, first", dump("base", m))
    step("files+git: git add + commit, first", commit)
    shutil.copyfile(m, m0)
    # The combined figures: export + commit, as cfgit's commit does both.
    step("files+git: dump + add + commit, no change", dump("base", m) + " && git add -A && (git commit -q -m x || true)")
    step("files+git: dump rows to files, 1% changed", dump("dev", m))
    step("files+git: git add + commit, 1% changed", commit)
    step("files+git: git diff --stat", "git diff --stat HEAD~1 HEAD >/dev/null", again=lambda: None)
    step("files+git: git diff (text)", "git diff HEAD~1 HEAD >/dev/null", again=lambda: None)
    b.sh(["git", "-C", d, "checkout", "-q", "-b", "B", "HEAD~1"], env=genv)
    shutil.copyfile(m0, m)
    b.sh(dump("devb", m), cwd=d)
    b.sh(commit, cwd=d, env=genv)
    b.sh(["git", "-C", d, "checkout", "-q", "main"], env=genv)
    step("files+git: git merge", "git merge -q --no-edit B")
    # Sums (dump + add + commit) are what compares with cfgit's commit.
    rs = {r["op"]: r for r in b.results if r["backend"] == backend and r["rows"] == size and r["tool"] == tool}
    for what in ("first", "1% changed"):
        x, y = rs[f"files+git: dump rows to files, {what}"], rs[f"files+git: git add + commit, {what}"]
        b.results.append({"backend": backend, "rows": size, "tool": tool, "op": f"files+git: dump + add + commit, {what}",
                          "seconds": round(x["seconds"] + y["seconds"], 4),
                          "cpu_seconds": round((x["cpu_seconds"] or 0) + (y["cpu_seconds"] or 0), 2),
                          "peak_mb": max(x["peak_mb"] or 0, y["peak_mb"] or 0),
                          "private_mb": max(x.get("private_mb") or 0, y.get("private_mb") or 0),
                          "stopped": bool(x.get("stopped") or y.get("stopped")),
                          "loose_objects": y["loose_objects"],
                          "note": "sum of the two steps above"})
    b.results.append({"backend": backend, "rows": size, "tool": tool, "op": "files+git: repository size (MB)",
                      "seconds": None, "peak_mb": round(du(gitdir) / 2**20, 1), "loose_objects": b.loose(gitdir),
                      "note": "du of .git"})
    # The files and the repository are removed with the size's directory at the end (not here,
    # between two measurements).


def report(b):
    rows = b.results
    floor = {(r["backend"], r["rows"]): r["seconds"] for r in rows if r["tool"] == "floor"}
    by_op = {(r["backend"], r["rows"], r["op"]): r for r in rows}
    out = []
    hdr = (f"{'backend':<8} {'rows':>8}  {'operation':<48} {'time s':>9} {'cpu s':>8} {'peak MB':>8} "
           f"{'priv MB':>8} {'x floor':>8} {'x alt':>7} {'loose':>7}")
    out.append(hdr)
    out.append("-" * len(hdr))
    for r in rows:
        if r["seconds"] is None:
            continue
        fl = r.get("paired_floor") or floor.get((r["backend"], r["rows"]))
        xf = f"{r['seconds'] / fl:.2f}" if fl and r["tool"] != "gen" else ""
        alt = ALT_OF.get(r["op"])
        xa = ""
        if alt:
            ar = by_op.get((r["backend"], r["rows"], alt)) or by_op.get(("sqlite", r["rows"], alt))
            if ar and ar["seconds"]:
                xa = f"{'<' if ar.get('stopped') else ''}{r['seconds'] / ar['seconds']:.2f}"
        if r.get("stopped"):
            xf = f">{xf}" if xf else ""
        r["x_floor"] = float(xf.lstrip("<>")) if xf else None
        r["x_alt"] = float(xa.lstrip("<>")) if xa else None
        r["alt"] = alt
        lo = "" if r["loose_objects"] is None else str(r["loose_objects"])
        cpu = "" if r.get("cpu_seconds") is None else f"{r['cpu_seconds']:.2f}"
        secs = f"{'>' if r.get('stopped') else ''}{r['seconds']:.3f}"
        peak = "" if r["peak_mb"] is None else f"{r['peak_mb']:.1f}"
        priv = "" if r.get("private_mb") is None else f"{r['private_mb']:.1f}"
        out.append(f"{r['backend']:<8} {r['rows']:>8}  {r['op']:<48} {secs:>9} {cpu:>8} "
                   f"{peak:>8} {priv:>8} {xf:>8} {xa:>7} {lo:>7}")
    for r in rows:
        if r["seconds"] is None:
            out.append(f"{r['backend']:<8} {r['rows']:>8}  {r['op']:<48} {'':>9} {'':>8} {r['peak_mb']:>8.1f}"
                       f" {'':>8} {'':>8} {'':>7} {r['loose_objects']:>7}")
    # Scaling: the fixed-count rows at the smallest and largest size.
    sizes = sorted({r["rows"] for r in rows})
    if len(sizes) > 1:
        out.append("")
        out.append(f"scaling {sizes[0]} -> {sizes[-1]} rows (time at {sizes[-1]} / time at {sizes[0]}):")
        for r in rows:
            if r["rows"] != sizes[-1] or r["seconds"] is None or r["tool"] == "gen":
                continue
            s = by_op.get((r["backend"], sizes[0], r["op"]))
            if s and s["seconds"]:
                more = ">" if r.get("stopped") else " "  # stopped at the limit: at least this
                out.append(f"  {r['backend']:<8} {r['op']:<48} {s['seconds']:>8.3f} s -> {more}{r['seconds']:>7.3f} s"
                           f"  {more.strip()}x{r['seconds'] / s['seconds']:.1f}")
    for n in b.notes:
        out.append("note: " + n)
    text = "\n".join(out)
    print("\n" + text)
    return text


def main():
    ap = argparse.ArgumentParser(prog="bench/run", description="cfgit benchmark (see docs/performance.md)")
    ap.add_argument("--quick", action="store_true", help="10k rows, SQLite and PostgreSQL (smoke test)")
    ap.add_argument("--sizes", default=None, help="comma list of total row counts (default 100000,1000000)")
    ap.add_argument("--backends", default=None, help="sqlite,postgres (default sqlite; --quick: both)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pct", type=float, default=1.0, help="percentage of rows changed per variant (default 1)")
    ap.add_argument("--fixed", type=int, default=1000, help="fixed number of changed rows for the scaling rows")
    ap.add_argument("--cfgit", help="use this cfgit binary instead of building build/bench/cfgit "
                    "(for PostgreSQL, with its cfgit-postgres.so beside it)")
    ap.add_argument("--work", default=None, help="work directory (default: a new one under /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep databases and workspaces")
    ap.add_argument("--no-alt", action="store_true", help="skip the files+git alternative")
    ap.add_argument("--alt-max-rows", type=int, default=0,
                    help="run the files+git alternative only at sizes up to this (it writes one file per row)")
    ap.add_argument("--append", help="a results JSON of an earlier run whose figures join this run's table")
    ap.add_argument("--pg-max-rows", type=int, default=0, help="run PostgreSQL only at sizes up to this")
    ap.add_argument("--repeat", type=int, default=5,
                    help="runs of a short step that can be repeated; the median is reported (default 5)")
    ap.add_argument("--repeat-under", type=float, default=5.0,
                    help="a repeatable step is run --repeat times when its first run took under this "
                    "many seconds (default 5)")
    ap.add_argument("--alt-limit", type=int, default=300,
                    help="seconds an alternative's step may run before it is stopped (default 300)")
    ap.add_argument("--alt-postgres", action="store_true", help="also run files+git on the PostgreSQL data")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="where latest.json/.csv go")
    a = ap.parse_args()
    if a.quick:
        a.sizes = a.sizes or "10000"
        a.backends = a.backends or "sqlite,postgres"
    a.sizes = [int(x) for x in (a.sizes or "100000,1000000").split(",")]
    a.backends = (a.backends or "sqlite").split(",")
    if "postgres" in a.backends and not os.environ.get("PGPORT"):
        sys.exit("bench/run: PostgreSQL needs a server: run through bench/run (it starts one with scripts/with-postgres.sh)")
    a.work = a.work or tempfile.mkdtemp(prefix="cfgit-bench-")
    os.makedirs(a.work, exist_ok=True)
    b = Bench(a)
    print(f"work directory: {a.work} (log: {a.work}/bench.log)")
    dolt = subprocess.run("apt-cache search --names-only dolt 2>/dev/null | grep -i dolt || true", shell=True,
                          stdout=subprocess.PIPE).stdout.decode().strip()
    b.notes.append("doltlite: " + ("candidates in apt: " + dolt if dolt else
                   "not available from Debian packages (apt-cache search dolt finds nothing); not measured"))
    if a.append:
        with open(a.append) as f:
            b.results.extend(json.load(f)["results"])
        b.notes.append(f"figures of {a.append} included")
    rc = 0
    started = datetime.datetime.now(datetime.timezone.utc)
    try:
        b.build()
        for size in a.sizes:
            for be in a.backends:
                if be == "postgres" and a.pg_max_rows and size > a.pg_max_rows:
                    b.notes.append(f"postgres not run at {size} rows (--pg-max-rows {a.pg_max_rows})")
                    continue
                try:
                    run_size(b, SqliteSide if be == "sqlite" else PgSide, size)
                except Failure as e:
                    # The other backends and sizes still run; the exit status says it failed.
                    b.notes.append(f"FAILED at {be} {size} rows: {e}; the rest of that run was skipped")
                    print(f"\nbench/run: {e} ({be}, {size} rows); going on with the next run", file=sys.stderr)
                    rc = 1
        for size in a.sizes:
            if a.alt_max_rows and size > a.alt_max_rows and not a.no_alt:
                b.notes.append(f"files+git not run at {size} rows (--alt-max-rows {a.alt_max_rows})")
    except Failure as e:
        print(f"\nbench/run: {e}", file=sys.stderr)
        rc = 1
    text = report(b)
    os.makedirs(a.out, exist_ok=True)
    meta = {"started": started.isoformat(timespec="seconds"), "host": platform.node(), "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(), "args": {k: v for k, v in vars(a).items()},
            "cfgit": b.cfgit, "complete": rc == 0, "notes": b.notes,
            "timer": "bench/timeit: wall time to the microsecond (run 38 on; runs 36 and 37: the runner's clock "
                     "around GNU time; before: GNU time's %e)"}
    name = "quick" if a.quick else "latest"
    with open(os.path.join(a.out, f"{name}.json"), "w") as f:
        json.dump({"meta": meta, "results": b.results}, f, indent=1)
    with open(os.path.join(a.out, f"{name}.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["backend", "rows", "tool", "op", "seconds", "cpu_seconds", "peak_mb", "private_mb", "x_floor",
                                          "alt", "x_alt", "loose_objects", "note"], extrasaction="ignore")
        w.writeheader()
        for r in b.results:
            w.writerow(r)
    with open(os.path.join(a.out, f"{name}.txt"), "w") as f:
        f.write(text + "\n")
    print(f"\nresults: {a.out}/{name}.json, {name}.csv, {name}.txt")
    sys.exit(rc)


if __name__ == "__main__":
    main()
