// membarrier under heavy scheduling load: more threads than CPUs, each calling membarrier
// PRIVATE_EXPEDITED (and every tenth call GLOBAL_EXPEDITED) between short sleeps and yields, so
// the scheduler switches all the time. Usage: load THREADS ITERATIONS.
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static int mb(int cmd) { return syscall(__NR_membarrier, cmd, 0, 0); }
static int iters;
static void *work(void *a) {
  for (int i = 0; i < iters; i++) {
    mb(i % 10 == 0 ? MEMBARRIER_CMD_GLOBAL_EXPEDITED : MEMBARRIER_CMD_PRIVATE_EXPEDITED);
    if (i % 3 == 0) sched_yield(); else usleep(50 + (i % 7) * 20);
  }
  return 0;
}
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 8; iters = argc > 2 ? atoi(argv[2]) : 100;
  printf("reg=%d greg=%d\n", mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED), mb(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED));
  pthread_t t[64]; for (int i = 0; i < n; i++) pthread_create(&t[i], 0, work, 0);
  for (int i = 0; i < n; i++) pthread_join(t[i], 0);
  return 0;
}
