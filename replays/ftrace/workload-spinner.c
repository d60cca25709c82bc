// A second process for recording real kernel traces (issue 25): registers GLOBAL_EXPEDITED and
// spins one thread per CPU (each pinned) for SECONDS, so every other process's GLOBAL_EXPEDITED
// call must reach it on every CPU. Usage: spinner SECONDS.
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static double seconds;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void *spin(void *a) {
  cpu_set_t s; CPU_ZERO(&s); CPU_SET((long)a, &s); sched_setaffinity(0, sizeof s, &s);
  double end = now() + seconds; volatile unsigned long x = 0;
  while (now() < end) for (int i = 0; i < 100000; i++) x++;
  return 0;
}
int main(int argc, char **argv) {
  seconds = argc > 1 ? atof(argv[1]) : 2;
  printf("greg=%ld\n", syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0));
  fflush(stdout);
  long n = sysconf(_SC_NPROCESSORS_ONLN); pthread_t t[64];
  for (long i = 0; i < n && i < 64; i++) pthread_create(&t[i], 0, spin, (void *)i);
  for (long i = 0; i < n && i < 64; i++) pthread_join(t[i], 0);
  return 0;
}
