// JIT-like cross-modifying code with SYNC_CORE: one thread rewrites a function in an executable
// mapping (a different constant each time) and calls membarrier PRIVATE_EXPEDITED_SYNC_CORE
// before publishing it; the other threads keep calling the function (they are started before the
// registration, so its ipi_sync_rq_state reaches them). Usage: jit THREADS ITERATIONS.
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int mb(int cmd) { return syscall(__NR_membarrier, cmd, 0, 0); }
static atomic_int stop, published;
static unsigned char *code;
static void *run(void *a) {
  // Pinned to the last CPU at SCHED_FIFO (root), so nothing preempts it: every call below finds
  // it running the process's code from entry to return, which is what makes them decidable.
  cpu_set_t set; CPU_ZERO(&set); CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) - 1, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  struct sched_param sp = { .sched_priority = 1 };
  pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
  long sum = 0;
  while (!atomic_load(&stop)) {
    int v = atomic_load_explicit(&published, memory_order_acquire);
    int (*f)(void) = (int (*)(void))(code + (v & 1) * 64); // the half not being written
    sum += f();
  }
  return (void *)sum;
}
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2, iters = argc > 2 ? atoi(argv[2]) : 200;
  code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char fn[] = { 0xb8, 0, 0, 0, 0, 0xc3 }; // mov eax, imm32; ret
  memcpy(code, fn, sizeof fn); memcpy(code + 64, fn, sizeof fn);
  cpu_set_t set; CPU_ZERO(&set); CPU_SET(0, &set); sched_setaffinity(0, sizeof set, &set); // the writer on CPU 0
  pthread_t t[16]; for (int i = 0; i < n; i++) pthread_create(&t[i], 0, run, 0);
  usleep(20000); // the readers spin on the other CPU while registering: ipi_sync_rq_state reaches them
  printf("regsc=%d\n", mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE));
  for (int i = 1; i <= iters; i++) {
    int half = (i & 1) ^ 1; // write the half the readers are not told to use
    memcpy(code + half * 64 + 1, &i, 4);
    if (mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) != 0) { perror("membarrier"); return 1; }
    atomic_store_explicit(&published, half, memory_order_release);
    usleep(300);
  }
  atomic_store(&stop, 1); for (int i = 0; i < n; i++) pthread_join(t[i], 0); return 0;
}
