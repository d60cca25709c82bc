// Twin's own workload for membarrier(PRIVATE_EXPEDITED_RSEQ): N spinning threads, registration,
// then calls with and without MEMBARRIER_CMD_FLAG_CPU, plus the errors user space can provoke.
// Build: gcc -O2 -pthread -o rseq workload-rseq.c     Record: twin record -o rseq.trace -- ./rseq 2 100
#define _GNU_SOURCE
#include <linux/membarrier.h>
#ifndef MEMBARRIER_CMD_GET_REGISTRATIONS
#define MEMBARRIER_CMD_GET_REGISTRATIONS (1 << 9) /* Linux 6.3; older uapi headers lack it */
#endif
#include <sys/syscall.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdatomic.h>
static int mb(int cmd, unsigned flags, int cpu) { return syscall(__NR_membarrier, cmd, flags, cpu); }
static atomic_int stop;
static void *spin(void *a) { volatile unsigned long x = 0; while (!atomic_load(&stop)) { x++; if ((x & 0xfffff) == 0) usleep(50); } return 0; }
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2, iters = argc > 2 ? atoi(argv[2]) : 100;
  pthread_t t[16];
  for (int i = 0; i < n && i < 16; i++) pthread_create(&t[i], 0, spin, 0);
  printf("unreg=%d\n", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0));            /* -EPERM */
  printf("reg=%d\n", mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0));
  printf("badflags=%d\n", mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 1, 0));               /* -EINVAL */
  printf("regs=%x\n", mb(MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0));
  for (int i = 0; i < iters; i++) {
    mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0);
    mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_FLAG_CPU, i % 2);
    usleep(300);
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < n && i < 16; i++) pthread_join(t[i], 0);
  return 0;
}
