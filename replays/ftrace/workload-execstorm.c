// An exec storm: a registered multi-threaded process forks children that exec /bin/true while
// its threads keep calling membarrier PRIVATE_EXPEDITED; each child starts with an empty
// membarrier_state (membarrier_exec_mmap), so its own PRIVATE_EXPEDITED before registering is
// -EPERM. Usage: execstorm CHILDREN.
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static int mb(int cmd) { return syscall(__NR_membarrier, cmd, 0, 0); }
static atomic_int stop;
static void *caller(void *a) { while (!atomic_load(&stop)) { mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED); usleep(200); } return 0; }
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 50;
  if (argc > 2) { // the exec'd child: unregistered, then registered
    int unreg = mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
    int reg = mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
    int pe = mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
    printf("child-unreg=%d reg=%d pe=%d\n", unreg, reg, pe);
    return 0;
  }
  printf("reg=%d\n", mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED));
  pthread_t t[2]; for (int i = 0; i < 2; i++) pthread_create(&t[i], 0, caller, 0);
  for (int i = 0; i < n; i++) {
    pid_t c = fork();
    if (c == 0) { if (i % 2) execl("/bin/true", "true", (char *)0); else execl("/proc/self/exe", argv[0], "1", "child", (char *)0); _exit(127); }
    waitpid(c, 0, 0);
  }
  atomic_store(&stop, 1); for (int i = 0; i < 2; i++) pthread_join(t[i], 0); return 0;
}
