/* berth-init: PID 1 of a Berth container (like tini or docker --init).
 *
 * The kernel gives a PID namespace's init no default signal actions, so a program run
 * directly as PID 1 ignores SIGTERM unless it installs a handler, and every stop would
 * wait out the grace period for SIGKILL. berth-init runs the program as its child,
 * forwards the signals it receives to it, reaps orphaned zombies, and exits with the
 * program's status: its exit code, or 128+N when signal N killed it.
 *
 * Usage: berth-init [--] PROGRAM [ARGS...]   (PROGRAM without '/' is looked up in PATH)
 * Plain C, linked statically: it must run in any image, including ones without libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    fprintf(stderr, "berth-init: usage: berth-init [--] PROGRAM [ARGS...]\n");
    return 2;
  }
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);

  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
    return 126;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[first], argv + first);
    fprintf(stderr, "berth-init: exec %s: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue; /* EINTR */
    if (sig != SIGCHLD) {
      /* Job-control stops make no sense without a terminal; everything else goes on. */
      if (sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU) kill(child, sig);
      continue;
    }
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      if (pid != child) continue; /* an orphan reparented to us: reaped, nothing else */
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    }
  }
}
