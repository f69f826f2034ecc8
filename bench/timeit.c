/* bench/timeit: runs a command and writes what GNU time's "%e %M %U %S" would, with the wall
 * time to the microsecond (GNU time's %e has 10 ms steps): wall seconds, peak RSS in kB of the
 * command and the children it waited for, user and system CPU seconds; then GNU time's "%R %F":
 * its minor and major page faults (a major one read a page from disk).
 *
 *   timeit OUTFILE COMMAND [ARGS...]
 *   timeit --probe
 *
 * --probe prints the milliseconds (wall time) a fixed CPU-bound loop takes here and now, the
 * median of three: about 5 ms on this machine when it is fast. The loop works in 64 KiB of its
 * own, faulted in before it is timed, so it leaves the page cache and free memory as they were.
 * A larger figure before one run than before another of the same step says the machine itself
 * ran slower then (a virtual machine shares its host's cores, and the time the host takes may not
 * show as steal time).
 *
 * The wall time runs from the fork to the command's exit, as GNU time's does: this program's own
 * start is not in it. The command is forked from this small process, so its peak RSS does not
 * count the pages of whatever started the measurement (a child forked from Python starts with
 * Python's). Exit status: the command's; 128 + N when signal N ended it; 127 when it could not
 * be run. Built by bench/runner.py at the start of a run. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double Seconds(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

static double Since(const struct timespec* t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The same work every time: 24 passes of mixing over 64 KiB (in the CPU's own caches); the
 * milliseconds it took. */
static double Loop(unsigned long long* cells) {
  unsigned long long x = 0x9e3779b97f4a7c15ull;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int pass = 0; pass < 24; ++pass) {
    for (unsigned i = 0; i < 8192 * 8; ++i) {
      unsigned j = (i ^ (unsigned)(x >> 51)) & 8191u;
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      x += cells[j];
      cells[j] = x;
    }
  }
  /* The result is used before the clock is read: the loop is neither dropped nor moved. */
  __asm__ volatile("" : : "r"(x) : "memory");
  return Since(&t0) * 1e3;
}

/* The median of three loops: one preempted loop does not make the machine look slow. */
static int Probe(void) {
  static unsigned long long cells[8192];
  memset(cells, 1, sizeof cells); /* its pages faulted in before the clock starts */
  double ms[3];
  for (int k = 0; k < 3; ++k) ms[k] = Loop(cells);
  double lo = ms[0] < ms[1] ? ms[0] : ms[1], hi = ms[0] < ms[1] ? ms[1] : ms[0];
  double median = ms[2] < lo ? lo : ms[2] > hi ? hi : ms[2];
  return printf("%.3f\n", median) < 0 ? 2 : 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--probe") == 0) return Probe();
  if (argc < 3) {
    fprintf(stderr, "usage: timeit OUTFILE COMMAND [ARGS...]\n       timeit --probe\n");
    return 2;
  }
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "timeit: cannot fork: %s\n", strerror(errno));
    return 2;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    fprintf(stderr, "timeit: cannot run %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  /* As GNU time: an interrupt is for the command, which reports it by its exit. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  int status = 0;
  struct rusage usage;
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "timeit: cannot wait for %s: %s\n", argv[2], strerror(errno));
      return 2;
    }
  }
  double wall = Since(&t0);
  FILE* out = fopen(argv[1], "w");
  if (out == NULL ||
      fprintf(out, "%.6f %ld %.6f %.6f %ld %ld\n", wall, usage.ru_maxrss, Seconds(usage.ru_utime),
              Seconds(usage.ru_stime), usage.ru_minflt, usage.ru_majflt) < 0 ||
      fclose(out) != 0) {
    fprintf(stderr, "timeit: cannot write %s: %s\n", argv[1], strerror(errno));
    return 2;
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
