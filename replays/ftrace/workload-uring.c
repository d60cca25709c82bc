// io_uring with SQPOLL: the kernel-side submission thread (iou-sqp-PID) runs on the process's mm
// while the process's threads call membarrier PRIVATE_EXPEDITED and write through the ring.
// Usage: uring ITERATIONS. Raw syscalls, no liburing.
#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int mb(int cmd) { return syscall(__NR_membarrier, cmd, 0, 0); }
static atomic_int stop;
static void *spin(void *a) { volatile unsigned long x = 0; while (!atomic_load(&stop)) { x++; if ((x & 0xfffff) == 0) usleep(50); } return 0; }
int main(int argc, char **argv) {
  int iters = argc > 1 ? atoi(argv[1]) : 100;
  struct io_uring_params p; memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_SQPOLL; p.sq_thread_idle = 2000;
  int ring = syscall(__NR_io_uring_setup, 8, &p);
  if (ring < 0) { perror("io_uring_setup"); return 1; }
  size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned), cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  char *sq = mmap(0, sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
  char *cq = mmap(0, cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
  struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
  unsigned *sqtail = (unsigned *)(sq + p.sq_off.tail), *sqmask = (unsigned *)(sq + p.sq_off.ring_mask), *sqarray = (unsigned *)(sq + p.sq_off.array);
  unsigned *sqflags = (unsigned *)(sq + p.sq_off.flags);
  unsigned *cqhead = (unsigned *)(cq + p.cq_off.head), *cqtail = (unsigned *)(cq + p.cq_off.tail);
  int fd = open("/dev/null", O_WRONLY);
  static char buf[4096];
  pthread_t t; pthread_create(&t, 0, spin, 0);
  printf("reg=%d\n", mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED));
  char *m = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (int i = 0; i < iters; i++) {
    unsigned tail = *sqtail, idx = tail & *sqmask;
    memset(&sqes[idx], 0, sizeof sqes[idx]);
    sqes[idx].opcode = IORING_OP_WRITE; sqes[idx].fd = fd; sqes[idx].addr = (unsigned long)buf; sqes[idx].len = sizeof buf; sqes[idx].user_data = i;
    sqarray[idx] = idx;
    atomic_store_explicit((_Atomic unsigned *)sqtail, tail + 1, memory_order_release);
    if (atomic_load((_Atomic unsigned *)sqflags) & IORING_SQ_NEED_WAKEUP) syscall(__NR_io_uring_enter, ring, 0, 0, IORING_ENTER_SQ_WAKEUP, 0, 0);
    mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
    while (atomic_load_explicit((_Atomic unsigned *)cqtail, memory_order_acquire) == *cqhead) ;
    atomic_store_explicit((_Atomic unsigned *)cqhead, *cqhead + 1, memory_order_release);
    m[(i * 4096) % (1 << 20)] = 1; mprotect(m, 1 << 20, PROT_READ); mprotect(m, 1 << 20, PROT_READ | PROT_WRITE);
    if (i % 10 == 0) usleep(3000); // let the SQPOLL thread go idle now and then
  }
  atomic_store(&stop, 1); pthread_join(t, 0); close(ring); return 0;
}
