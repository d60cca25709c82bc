// sched_setaffinity() migrations of a running thread while another thread of the process sends
// TLB shootdowns and membarrier IPIs (issue 25). Moving a running task makes the stopper run
// migration_cpu_stop() on its CPU, which flushes that CPU's queued csds from task context (kernel/
// sched/core.c: flush_smp_call_function_queue()) when they were queued before the IPI arrived.
// Usage: affinity MILLISECONDS.
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <stdatomic.h>
static atomic_int stop;
static atomic_int runner;
static char *ro;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void *run(void *a) { volatile unsigned long x = 0; runner = gettid(); while (!atomic_load(&stop)) x += ro[(x * 64) % (1 << 20)] + 1; return 0; }
static void *flush(void *a) {
  unsigned long i = 0;
  while (!atomic_load(&stop)) {
    mprotect(ro, 1 << 20, PROT_READ); mprotect(ro, 1 << 20, PROT_READ | PROT_WRITE);
    if (++i % 16 == 0) syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
  }
  return 0;
}
int main(int argc, char **argv) {
  double ms = argc > 1 ? atof(argv[1]) : 500;
  ro = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (int i = 0; i < 1 << 20; i += 4096) ro[i] = 1;
  syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
  pthread_t r, f; pthread_create(&r, 0, run, 0); pthread_create(&f, 0, flush, 0);
  while (!runner) usleep(10);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN); unsigned long k = 0;
  double end = now() + ms / 1000;
  while (now() < end) {
    cpu_set_t s; CPU_ZERO(&s); CPU_SET(k++ % ncpu, &s);
    sched_setaffinity(runner, sizeof s, &s);
    usleep(100 + (k % 3) * 50);
  }
  atomic_store(&stop, 1); pthread_join(r, 0); pthread_join(f, 0);
  return 0;
}
