#!/bin/sh
# The membarrier caller under CFS bandwidth throttling (issue 25): ./churn runs in a cpu cgroup
# allowed 2 ms of CPU every 10 ms, so its threads are throttled (dequeued) in the middle of their
# work and calls. cgroup v2: cpu.max "2000 10000"; this VM mounts the v1 cpu controller, where the
# same limit is cpu.cfs_quota_us / cpu.cfs_period_us. As root. Usage: workload-throttle.sh CHURN_BINARY [ITERATIONS]
set -u
churn=$1; iterations=${2:-300}
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  cg=/sys/fs/cgroup/twin-throttle-$$; mkdir "$cg"; echo "2000 10000" > "$cg/cpu.max"
else
  cg=/sys/fs/cgroup/cpu/twin-throttle-$$; mkdir "$cg"; echo 10000 > "$cg/cpu.cfs_period_us"; echo 2000 > "$cg/cpu.cfs_quota_us"
fi
trap 'rmdir "$cg" 2>/dev/null' EXIT INT TERM
sh -c 'echo $$ > "$1/cgroup.procs"; exec "$2" "$3" 15' sh "$cg" "$churn" "$iterations"
cat "$cg/cpu.stat" >&2
