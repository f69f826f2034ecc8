/* bench/timeit: runs a command and writes what GNU time's "%e %M %U %S" would, with the wall
 * time to the microsecond (GNU time's %e has 10 ms steps): wall seconds, peak RSS in kB of the
 * command and the children it waited for, user and system CPU seconds; then GNU time's "%R %F":
 * its minor and major page faults (a major one read a page from disk).
 *
 *   timeit OUTFILE COMMAND [ARGS...]
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

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: timeit OUTFILE COMMAND [ARGS...]\n");
    return 2;
  }
  struct timespec t0, t1;
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
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
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
