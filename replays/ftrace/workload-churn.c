// What users run, for recording real kernel traces (issue 25): threads created and exiting while
// membarrier calls are in flight, sched_setaffinity() migrations every few hundred microseconds,
// PRIVATE_EXPEDITED, PRIVATE_EXPEDITED_SYNC_CORE and GLOBAL_EXPEDITED calls, mprotect/munmap
// shootdowns and fork+exec. Usage: churn ITERATIONS [MODE]; MODE bits: 1 thread churn, 2 affinity
// migrations, 4 GLOBAL_EXPEDITED calls, 8 fork+exec, 16 register GLOBAL_EXPEDITED too (default 15).
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <stdatomic.h>
static int mb(int cmd, unsigned flags, int cpu) { return syscall(__NR_membarrier, cmd, flags, cpu); }
static atomic_int stop;
static char *region, *ro; // threads write region; ro they only read, so mprotect(PROT_READ) of it is harmless
static pid_t tids[4];
static void *spin(void *a) {
  long id = (long)a; volatile unsigned long x = 0;
  tids[id] = gettid();
  while (!atomic_load(&stop)) { x++; if ((x & 0x3ffff) == 0) { region[(id * 4096 + x) % (1 << 20)] += ro[(x * 64) % (1 << 20)]; if (id & 1) usleep(80); } }
  return 0;
}
// A short-lived thread: starts, runs a little, maybe calls membarrier itself, and exits, so
// threads of the mm appear and disappear while other threads' calls are in flight.
static void *brief(void *a) {
  volatile unsigned long x = 0; long n = (long)a;
  for (long i = 0; i < 20000 + n * 3000; i++) x += i;
  if (n % 3 == 0) mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
  return 0;
}
// Moves the spinning threads between the CPUs every few hundred microseconds.
static void *migrate(void *a) {
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN); unsigned long k = 0;
  while (!atomic_load(&stop)) {
    for (int i = 0; i < 2; i++) {
      if (!tids[i]) continue;
      cpu_set_t s; CPU_ZERO(&s); CPU_SET((k + i) % ncpu, &s);
      sched_setaffinity(tids[i], sizeof s, &s);
    }
    k++; usleep(200 + (k % 5) * 60);
  }
  return 0;
}
int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 200, mode = argc > 2 ? atoi(argv[2]) : 15;
  region = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ro = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (int i = 0; i < 1 << 20; i += 4096) ro[i] = 1;
  printf("reg=%d regsc=%d\n", mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0), mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0));
  if (mode & 16) printf("greg=%d\n", mb(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0));
  pthread_t t[2], m;
  for (long i = 0; i < 2; i++) pthread_create(&t[i], 0, spin, (void *)i);
  if (mode & 2) pthread_create(&m, 0, migrate, 0);
  for (int i = 0; i < iters; i++) {
    pthread_t b[3]; int nb = 0;
    if (mode & 1) for (long j = 0; j < 1 + i % 3; j++) pthread_create(&b[nb++], 0, brief, (void *)(i + j));
    mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0);
    if (mode & 4) mb(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
    mprotect(ro, 1 << 20, PROT_READ); mprotect(ro, 1 << 20, PROT_READ | PROT_WRITE);
    if (i % 8 == 0) { char *p = mmap(0, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); p[0] = 1; munmap(p, 1 << 16); }
    if ((mode & 8) && i % 40 == 0) { pid_t c = fork(); if (c == 0) { execl("/bin/true", "true", (char *)0); _exit(1); } waitpid(c, 0, 0); }
    for (int j = 0; j < nb; j++) pthread_join(b[j], 0);
    usleep(250 + (i % 4) * 100);
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
  if (mode & 2) pthread_join(m, 0);
  return 0;
}
